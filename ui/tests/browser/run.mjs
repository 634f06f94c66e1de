// Build the UI if needed, serve ui/dist with `vite preview` on 127.0.0.1 (free port),
// and run the browser tests with node's built-in test runner.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { createServer } from "node:net";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const uiDir = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
process.chdir(uiDir);

function newest(p) {
  const st = statSync(p);
  if (!st.isDirectory()) return st.mtimeMs;
  return Math.max(st.mtimeMs, ...readdirSync(p).map((f) => newest(join(p, f))));
}

const distIndex = join(uiDir, "dist/index.html");
const inputs = ["src", "index.html", "vite.config.ts", "package.json", "public"].filter((p) => existsSync(p));
const stale = !existsSync(distIndex) || Math.max(...inputs.map(newest)) > statSync(distIndex).mtimeMs;
if (stale) {
  console.log("[test:browser] building ui/dist …");
  const r = spawnSync(process.execPath, [join(uiDir, "node_modules/vite/bin/vite.js"), "build"], { stdio: "inherit" });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once("error", rej);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

const { preview } = await import("vite");
const port = await freePort();
const server = await preview({
  root: uiDir,
  logLevel: "warn",
  preview: { host: "127.0.0.1", port, strictPort: true, open: false },
});
const baseUrl = `http://127.0.0.1:${port}/`;
console.log(`[test:browser] serving ui/dist at ${baseUrl}`);

const files = process.argv.slice(2).length
  ? process.argv.slice(2)
  : readdirSync("tests/browser").filter((f) => f.endsWith(".test.mjs")).sort().map((f) => join("tests/browser", f));

const child = spawn(process.execPath, ["--test", "--test-concurrency=1", ...files], {
  stdio: "inherit",
  env: { ...process.env, HR_BASE_URL: baseUrl },
});
const code = await new Promise((res) => child.on("exit", (c, sig) => res(c ?? (sig ? 1 : 0))));
await server.close();
process.exit(code);
