// The Flow extension's client: starts `flytec lsp` over stdio for `flow` documents.
//
// Highlighting comes from the TextMate grammar (syntaxes/flow.tmLanguage.json) and works without
// the server; diagnostics, hover, go to definition, completion, document symbols and formatting
// are served by `flytec lsp`. The executable is the `flytec.path` setting (default `flytec`, found
// on PATH); changing it restarts the server, and so does the "Flow: Restart Language Server"
// command.

import * as os from "os";
import * as path from "path";
import * as vscode from "vscode";
import {
    Executable,
    LanguageClient,
    LanguageClientOptions,
    ServerOptions,
    TransportKind,
} from "vscode-languageclient/node";

/** The client id: it is also the prefix of the `flytec.trace.server` setting. */
const CLIENT_ID = "flytec";
const CLIENT_NAME = "Flow (flytec)";

let client: LanguageClient | undefined;
let outputChannel: vscode.OutputChannel | undefined;
let watcher: vscode.FileSystemWatcher | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
    outputChannel = vscode.window.createOutputChannel(CLIENT_NAME);
    context.subscriptions.push(outputChannel);

    context.subscriptions.push(
        vscode.commands.registerCommand("flytec.restartServer", () => restart()),
        vscode.workspace.onDidChangeConfiguration((event) => {
            if (event.affectsConfiguration("flytec.path")) {
                void restart();
            }
        }),
    );

    await start();
}

export async function deactivate(): Promise<void> {
    await stop();
}

/** The `flytec` command from the `flytec.path` setting, with `~` and `${workspaceFolder}` expanded. */
function flytecCommand(): string {
    const configured = vscode.workspace.getConfiguration("flytec").get<string>("path", "flytec").trim();
    if (configured === "") {
        return "flytec";
    }
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
    let command = configured.replace(/\$\{workspaceFolder\}/g, folder ?? "");
    if (command === "~" || command.startsWith("~/") || command.startsWith("~\\")) {
        command = path.join(os.homedir(), command.slice(1));
    }
    // A bare name (`flytec`) is looked up on PATH; a relative path is taken from the workspace.
    const isBareName = !command.includes("/") && !command.includes("\\");
    if (!isBareName && !path.isAbsolute(command) && folder !== undefined) {
        command = path.join(folder, command);
    }
    return command;
}

async function start(): Promise<void> {
    const command = flytecCommand();
    const executable: Executable = {
        command,
        args: ["lsp"],
        transport: TransportKind.stdio,
    };
    const serverOptions: ServerOptions = { run: executable, debug: executable };
    // Imported files change what a file means: tell the server when any .flow file changes.
    watcher = vscode.workspace.createFileSystemWatcher("**/*.flow");
    const clientOptions: LanguageClientOptions = {
        documentSelector: [
            { scheme: "file", language: "flow" },
            { scheme: "untitled", language: "flow" },
        ],
        synchronize: { fileEvents: watcher },
        outputChannel,
        traceOutputChannel: outputChannel,
    };

    client = new LanguageClient(CLIENT_ID, CLIENT_NAME, serverOptions, clientOptions);
    try {
        await client.start();
    } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        outputChannel?.appendLine(`Could not start \`${command} lsp\`: ${message}`);
        await stop();
        const openSettings = "Open Settings";
        const choice = await vscode.window.showErrorMessage(
            `Flow: could not start the language server \`${command} lsp\`. Install flytec ` +
                "(`cargo install --path .` in the flytec repository) or set `flytec.path` to the binary. " +
                "Highlighting still works without it.",
            openSettings,
        );
        if (choice === openSettings) {
            await vscode.commands.executeCommand("workbench.action.openSettings", "flytec.path");
        }
    }
}

async function stop(): Promise<void> {
    const running = client;
    client = undefined;
    watcher?.dispose();
    watcher = undefined;
    if (running !== undefined) {
        try {
            await running.stop();
        } catch {
            // The server may already be gone (it crashed, or was never started).
        }
    }
}

async function restart(): Promise<void> {
    await stop();
    await start();
}
