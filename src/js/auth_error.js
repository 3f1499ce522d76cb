// The one error class of the JavaScript API. It lives in JS so that it truly extends `Error`
// (stack traces, `instanceof Error`); wasm-bindgen imports it as a snippet and the package entry
// re-exports it (see scripts/finish-pkg.mjs).
export class AuthError extends Error {
  constructor(code, message, status) {
    super(message);
    this.name = "AuthError";
    this.code = code;
    if (status !== undefined && status !== null) this.status = status;
  }
}
