// Bundles the extension (node, cjs) and the chat page (browser, iife) with esbuild.
import { build } from "esbuild";
import { copyFile, mkdir } from "node:fs/promises";

const production = process.argv.includes("--production");
const common = { bundle: true, sourcemap: !production, minify: production, logLevel: "info", legalComments: "none" };

await mkdir("dist", { recursive: true });
await Promise.all([
  build({ ...common, entryPoints: ["src/extension.ts"], outfile: "dist/extension.js", platform: "node", format: "cjs", target: "node20", external: ["vscode"] }),
  build({ ...common, entryPoints: ["src/webview/main.ts"], outfile: "dist/webview.js", platform: "browser", format: "iife", target: "es2020" }),
  copyFile("src/webview/chat.css", "dist/webview.css"),
]);

// Browser-test bridge and the server probe (not shipped in the .vsix).
if (process.argv.includes("--tests")) {
  await Promise.all(
    ["bridge", "probe", "run", "thinking"].map((name) =>
      build({ ...common, minify: false, sourcemap: false, entryPoints: [`test/webview/${name}.ts`], outfile: `dist-test/${name}.js`, platform: "node", format: "cjs", target: "node20", external: ["playwright-core"] }),
    ),
  );
  // The extension itself on a `vscode` stub (test/host/start.cjs provides it at run time).
  await build({ ...common, minify: false, sourcemap: false, entryPoints: ["test/host/run.ts"], outfile: "dist-test/host.js", platform: "node", format: "cjs", target: "node20", external: ["vscode"] });
}
