// Starts `amap lsp` for .amap files; everything else (diagnostics, completion, hover, go to
// definition, outline, formatting, quick fixes) comes from the server.
"use strict";

const vscode = require("vscode");
const { LanguageClient } = require("vscode-languageclient/node");

let client;

function createClient() {
  const config = vscode.workspace.getConfiguration("amap");
  const command = config.get("server.path") || "amap";
  const diagnosticsUrl = config.get("diagnosticsUrl");
  // No `transport`: the client then adds no `--stdio` argument (amap accepts it anyway).
  const server = { command, args: ["lsp"] };
  return new LanguageClient(
    "amap",
    "amap language server",
    { run: server, debug: server },
    {
      documentSelector: [
        { scheme: "file", language: "amap" },
        { scheme: "untitled", language: "amap" },
      ],
      initializationOptions: diagnosticsUrl ? { diagnosticsUrl } : {},
    }
  );
}

async function activate(context) {
  client = createClient();
  context.subscriptions.push(
    vscode.commands.registerCommand("amap.restartServer", async () => {
      if (client) {
        await client.stop();
      }
      client = createClient();
      await client.start();
    })
  );
  await client.start();
}

async function deactivate() {
  if (client) {
    await client.stop();
  }
}

module.exports = { activate, deactivate };
