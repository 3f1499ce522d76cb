// `npm run dev` proxies the auth API to the companion server, so the app and the API share an
// origin (as they do in production behind one host) and no CORS set-up is needed.
// TOKENKEEPER_URL points it elsewhere; `make demo` serves the companion server on :8080.
// The package itself needs no configuration: Vite serves and emits its .wasm as it is.
import { defineConfig } from "vite";

const api = process.env.TOKENKEEPER_URL ?? "http://127.0.0.1:8080";

export default defineConfig({
  server: {
    host: "127.0.0.1",
    proxy: Object.fromEntries(["/auth", "/admin", "/dashboard"].map((path) => [path, api])),
    // Only because this example links the package from outside its folder ("file:../../../pkg"):
    // let the dev server read files there. An app with the package from npm needs no such line.
    fs: { allow: [".", "../../../pkg"] },
  },
});
