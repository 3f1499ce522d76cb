// HTTP (src/browser/http.rs is the Rust twin): the core's requests sent with the global `fetch`
// (looked up at each call, so an app or a test may wrap it), and the app's own requests of
// `client.fetch()`.
//
// Any HTTP status is a reply: the core maps 4xx and 5xx to errors. Only a missing response is an
// error here, always "network": offline, DNS, CORS, an abort, the request's timeout, a body that
// cannot be read, a request the browser refuses to build, a `fetch` that throws or resolves with
// something other than a Response (a mock). The one exception is a body over MAX_REPLY_CHARS: a
// "protocol" error. Messages name the endpoint and the thrown error's `name` only: a JavaScript
// message or the URL could carry a refresh token (the minimal profile sends it in the query).

/** The longest reply body the core reads, in UTF-16 code units: far above any token reply. */
const MAX_REPLY_CHARS = 4 * 1024 * 1024;

/** A failed exchange, as the core's `failed()` takes it. */
function exchangeError(code, message, status) {
  return { code, message, status };
}

/** Sends one request of the core (a "send" effect), with `extraHeaders` ([name, value] pairs:
 *  a DPoP proof), and resolves with the reply `{ status, contentType, body, retryAfter, date,
 *  nonce, challenge }`, or rejects with an exchangeError. */
async function sendCoreRequest(effect, extraHeaders = []) {
  const { endpoint } = effect;
  let controller;
  try {
    controller = new AbortController();
  } catch (error) {
    throw exchangeError("network", `${endpoint} request could not start (${errorName(error)})`);
  }
  // The timer also bounds a `fetch` that ignores the abort signal (a mock, an old polyfill).
  let timer;
  const timedOut = new Promise((resolve) => {
    timer = setTimeout(resolve, Math.min(effect.timeout, MAX_TIMER_DELAY), TIMED_OUT);
  });
  try {
    const exchanging = exchange(effect, controller.signal, extraHeaders);
    // Once the timeout has won, a late failure of the exchange is nobody's to handle.
    exchanging.catch(() => {});
    const reply = await Promise.race([exchanging, timedOut]);
    if (reply !== TIMED_OUT) return reply;
    controller.abort();
    throw exchangeError("network", `${endpoint} request timed out`);
  } finally {
    clearTimeout(timer);
  }
}

const TIMED_OUT = Symbol("timed out");

/** Builds, sends and reads one request: everything the timeout covers. */
async function exchange(effect, signal, extraHeaders) {
  const { endpoint } = effect;
  const failed = (what, error) => exchangeError("network", `${endpoint} request ${what} (${errorName(error)})`);
  let headers;
  try {
    headers = new Headers();
    for (const [name, value] of [...effect.headers, ...extraHeaders]) headers.set(name, value);
  } catch (error) {
    throw failed("could not be built", error);
  }
  let request;
  try {
    request = new Request(effect.url, {
      method: effect.method,
      headers,
      body: effect.body,
      credentials: effect.credentials,
      signal,
    });
  } catch {
    // The browser's message may quote the URL: drop it.
    throw exchangeError("network", `${endpoint} request could not be built (bad URL or header)`);
  }
  let pending;
  try {
    // A replaced `fetch` may throw instead of rejecting.
    pending = fetch(request);
  } catch (error) {
    throw failed("failed", error);
  }
  let response;
  try {
    response = await pending;
  } catch (error) {
    throw failed("got no response", error);
  }
  if (!(response instanceof Response)) {
    throw exchangeError("network", `${endpoint} request failed (fetch did not return a Response)`);
  }
  const header = (name) => response.headers.get(name) ?? undefined;
  const { status } = response;
  const contentType = header("Content-Type");
  const retryAfter = header("Retry-After");
  const date = header("Date");
  // DPoP (dpop.js): the server's next nonce, and why it refused a proof.
  const nonce = header("DPoP-Nonce");
  const challenge = header("WWW-Authenticate");
  let body;
  try {
    body = await response.text();
  } catch (error) {
    throw failed("body could not be read", error);
  }
  if (typeof body !== "string") body = "";
  if (body.length > MAX_REPLY_CHARS) {
    throw exchangeError("protocol", `${endpoint} reply is too large (${body.length} characters; at most ${MAX_REPLY_CHARS})`, status);
  }
  return { status, contentType, body, retryAfter, date, nonce, challenge };
}

/** The error of an app request that got no response. */
function noResponse() {
  return new AuthError("network", "no response (offline, DNS, CORS or aborted)");
}

/** Sends an app's request; any HTTP status is a response, only "no response" rejects. A
 *  `fetch` that throws, rejects or resolves with something other than a Response is no response. */
function sendAppRequest(request) {
  let sent;
  try {
    sent = fetch(request);
  } catch {
    return Promise.reject(noResponse());
  }
  return Promise.resolve(sent).then(
    (response) => {
      if (response instanceof Response) return response;
      throw new AuthError("network", "fetch resolved with something other than a Response");
    },
    () => {
      throw noResponse();
    },
  );
}

/** A copy of `request` carrying `token` (as `scheme`, with a DPoP `proof` when given); the
 *  original stays unsent, so it can be replayed. */
function withToken(request, token, scheme = "Bearer", proof = undefined) {
  let attempt;
  try {
    attempt = request.clone();
  } catch {
    throw new AuthError("config", "the request body was already used; it cannot be sent");
  }
  try {
    attempt.headers.set("Authorization", `${scheme} ${token}`);
    if (proof) attempt.headers.set("DPoP", proof);
  } catch {
    throw new AuthError("config", "this request cannot carry an Authorization header (no-cors mode?)");
  }
  return attempt;
}

/** `new Request(input, init)`, as `fetch` builds it (relative URLs resolve against the page). */
function buildRequest(input, init) {
  const options = init === undefined || init === null ? {} : init;
  let url = input;
  if (!(typeof Request === "function" && input instanceof Request)) {
    if (typeof input === "string") url = input;
    else if (typeof input === "object" && input !== null) {
      // An object with a string form (URL), as `fetch` converts it.
      try {
        url = String(input);
      } catch {
        throw new AuthError("config", "fetch() was given an invalid URL or RequestInit");
      }
    } else throw new AuthError("config", "fetch() needs a URL, string or Request");
  }
  try {
    return new Request(url, options);
  } catch {
    throw new AuthError("config", "fetch() was given an invalid URL or RequestInit");
  }
}

/** The origin of a URL as a Request serializes it (absolute, lowercase scheme and host, no
 *  default port, no credentials): the text before the path. Only http and https have origins
 *  `apiOrigins` can name; anything else is "null". Cheaper than a URL object on every fetch. */
function serializedOrigin(url) {
  const scheme = url.startsWith("https://") ? 8 : url.startsWith("http://") ? 7 : 0;
  if (!scheme) return "null";
  const end = url.slice(scheme).search(/[/?#]/);
  return end < 0 ? url : url.slice(0, scheme + end);
}

/** `url` without its query and fragment. */
function withoutQuery(url) {
  return url.split(/[?#]/, 1)[0];
}
