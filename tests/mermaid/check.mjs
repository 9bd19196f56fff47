// Parse each file given with Mermaid's own parser; print one JSON line per file: {"file", "ok", "error"}.
import fs from "fs";
import { JSDOM } from "jsdom";

const dom = new JSDOM("<!DOCTYPE html><body></body>");
globalThis.window = dom.window;
globalThis.document = dom.window.document;
const { default: mermaid } = await import("mermaid");
for (const file of process.argv.slice(2)) {
  try {
    await mermaid.parse(fs.readFileSync(file, "utf8"));
    console.log(JSON.stringify({ file, ok: true, error: "" }));
  } catch (error) {
    console.log(JSON.stringify({ file, ok: false, error: String(error.message || error) }));
  }
}
