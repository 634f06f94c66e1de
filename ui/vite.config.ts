import { defineConfig } from "vitest/config";
import { svelte } from "@sveltejs/vite-plugin-svelte";

// `vite build` makes the tray app's bundle (dist/); `vite build --mode report` the district
// server's web report page (dist-report/, entry report.html, with report-public/: the service
// worker and the manifest), from the same components.
export default defineConfig(({ mode }) => ({
  plugins: [svelte()],
  // Relative asset URLs: works under the Tauri custom protocol and `vite preview` alike.
  base: "./",
  clearScreen: false,
  server: { host: "127.0.0.1", port: 5173, strictPort: true },
  preview: { host: "127.0.0.1" },
  publicDir: mode === "report" ? "report-public" : "public",
  build:
    mode === "report"
      ? { outDir: "dist-report", emptyOutDir: true, sourcemap: false, rollupOptions: { input: "report.html" } }
      : { outDir: "dist", emptyOutDir: true, sourcemap: false },
  resolve: process.env.VITEST ? { conditions: ["browser"] } : undefined,
  test: {
    environment: "happy-dom",
    include: ["tests/unit/**/*.test.ts"],
  },
}));
