// `npm run dev` proxies the auth API to the companion server, so the app and the API share an
// origin and no CORS set-up is needed. TOKENKEEPER_URL points it elsewhere (default :8080).
import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

const api = process.env.TOKENKEEPER_URL ?? "http://127.0.0.1:8080";

export default defineConfig({
  plugins: [react()],
  // Only because this example links the package from outside its folder ("file:../../../pkg"):
  // `tokenkeeper/react` imports "react", which must resolve to this app's copy, not be looked up
  // next to pkg/. An app with the package from npm needs neither this nor `fs.allow`.
  resolve: { dedupe: ["react", "react-dom"] },
  server: {
    host: "127.0.0.1",
    proxy: Object.fromEntries(["/auth", "/admin", "/dashboard"].map((path) => [path, api])),
    fs: { allow: [".", "../../../pkg"] },
  },
});
