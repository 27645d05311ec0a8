import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

// The build goes into the Python package, which `tracklet server` serves at `/`.
export default defineConfig({
  base: "/",
  build: {
    outDir: fileURLToPath(new URL("../src/tracklet/server/static", import.meta.url)),
    emptyOutDir: true,
    assetsDir: "assets",
    sourcemap: false,
    chunkSizeWarningLimit: 200,
  },
  test: {
    include: ["src/**/*.test.ts"],
    environment: "node",
  },
});
