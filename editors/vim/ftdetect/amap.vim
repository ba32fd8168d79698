" .amap mapping templates
autocmd BufRead,BufNewFile *.amap setfiletype amap
