// Where the page finds the simsearch HTTP API. Empty: the same origin as the page
// (simsearch-lambda --serve-http serves both). Deployed as a static site, set it to the
// API Gateway URL, e.g. "https://abc123.execute-api.eu-west-1.amazonaws.com/prod".
window.SIMSEARCH_CONFIG = {
  apiBase: "",
  // A request that takes longer than this is abandoned with a message and a retry.
  timeoutMs: 15000,
};
