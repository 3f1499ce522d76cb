// The demo page loads the package exactly as an app without a bundler would.
import init, { version, decodeClaims } from "/pkg/tokenkeeper.js";

// HS256, signed with a throwaway demo key; exp is in 2100.
const SAMPLE_TOKEN =
  "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJuYW1lIjoiWm_DqyBFeGFtcGxlIiwiZW1haWwiOiJ6b2VAZXhhbXBsZS5jb20iLCJyb2xlIjoiYWRtaW4iLCJ0eXBlIjoiYWNjZXNzIiwic3ViIjoiNDIiLCJpYXQiOjE3NjM4MDAwMDAsImV4cCI6NDEwMjQ0NDgwMH0.X6S05_pKvupC_N3BaDxwowlwjnblrzrdZH81vB-IEMU";

const $ = (id) => document.querySelector(`[data-testid="${id}"]`);

try {
  await init();
  $("version").textContent = version();
  $("claims").textContent = JSON.stringify(decodeClaims(SAMPLE_TOKEN), null, 2);
  $("status").textContent = "Package loaded.";
  document.body.dataset.ready = "true";
} catch (error) {
  $("status").textContent = `Failed to load the package: ${error.code ?? ""} ${error.message}`;
  document.body.dataset.ready = "error";
  throw error;
}
