/// <reference types="vitest/config" />
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// The API serves dist/ at / (api/webapp.py); `npm run dev` proxies the API for live editing.
export default defineConfig({
  plugins: [react()],
  build: {
    manifest: true,
    target: "es2022",
    sourcemap: false,
    modulePreload: { polyfill: false },
  },
  server: {
    proxy: {
      "/api": "http://127.0.0.1:8000",
      "/socket.io": { target: "ws://127.0.0.1:8000", ws: true },
    },
  },
  test: {
    environment: "node",
  },
});
