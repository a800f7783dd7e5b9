// Runs the extension-host smoke test with the `vscode` stub: node test/host/start.cjs
"use strict";
const Module = require("node:module");
const path = require("node:path");
const stub = require("./vscode-stub.cjs");
const load = Module._load;
Module._load = function (request, parent, isMain) {
  if (request === "vscode") return stub;
  return load.call(this, request, parent, isMain);
};
require(path.join(__dirname, "..", "..", "dist-test", "host.js"));
