// The SDK as an ES module, imported for its effect (it defines Embedcare),
// from the app's origin as the app serves it (a cross-origin module needs
// CORS: the app answers it with Access-Control-Allow-Origin).
import "{{APP_ORIGIN}}/sdk/embedcare.js";

window.__sdkLoaded = { how: "module", hasGlobal: typeof window.Embedcare === "object" };
