// The SDK as an ES module, imported for its effect (it defines Embedcare).
import "/sdk/embedcare.js";

window.__sdkLoaded = { how: "module", hasGlobal: typeof window.Embedcare === "object" };
