// The entry: the app in StrictMode (its development double mount must create one client, not two).
// `#leak` swaps in a page that mounts and unmounts the provider on demand (tests/e2e/react.test.mjs
// counts listeners there); `?probe` loads the same counters for the main app. Both are test
// instrumentation: an app has neither.
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import "./style.css";

if (location.hash === "#leak" || new URLSearchParams(location.search).has("probe")) {
  await import("./probe.js"); // before any client exists
}
const { Root } = location.hash === "#leak" ? await import("./LeakCheck.jsx") : await import("./App.jsx");

createRoot(document.getElementById("root")).render(
  <StrictMode>
    <Root />
  </StrictMode>,
);
