" Syntax highlighting for .amap mapping templates (the same words as grammar/amap.pest).
if exists("b:current_syntax")
  finish
endif

syntax keyword amapDeclaration create incoming table
syntax keyword amapKeyword for udf exists
syntax keyword amapConditional if then else
syntax keyword amapOperatorWord and or not
syntax keyword amapBoolean true false
syntax keyword amapType text number integer bool date datetime choice contained
syntax match amapTableHeader /\<table\>.*$/ contains=amapDeclaration,amapType,amapOperator
syntax match amapRoot /\<\(case\|field\|date\|person\|address\|ref\|aurora\|contact\)\ze[.[]/
syntax match amapSegment /\.\h\w*/ms=s+1
syntax match amapFunction /\<\h\w*\ze\s*(/
syntax match amapNumber /\<-\?\d\+\(\.\d\+\)\?\>/
syntax match amapOperator /??\|==\|!=\|=>\|->\|=\|!/
syntax match amapEscape /\\[nt"\\{}]/ contained
syntax region amapInterpolation matchgroup=amapDelimiter start=/{/ end=/}/ contained oneline contains=amapRoot,amapSegment
syntax region amapString start=/"/ skip=/\\\\\|\\"/ end=/"/ oneline contains=amapEscape,amapInterpolation
syntax region amapRawString start=/r"/ end=/"/ oneline
syntax match amapComment /\/\/.*$/ contains=@Spell
syntax match amapDocComment /^\s*\/\/\/\([^/].*\)\?$/ contains=@Spell

highlight default link amapDeclaration Keyword
highlight default link amapKeyword Keyword
highlight default link amapConditional Conditional
highlight default link amapOperatorWord Operator
highlight default link amapBoolean Boolean
highlight default link amapType Type
highlight default link amapRoot Identifier
highlight default link amapFunction Function
highlight default link amapNumber Number
highlight default link amapOperator Operator
highlight default link amapEscape SpecialChar
highlight default link amapDelimiter Delimiter
highlight default link amapString String
highlight default link amapRawString String
highlight default link amapComment Comment
highlight default link amapDocComment SpecialComment

let b:current_syntax = "amap"
