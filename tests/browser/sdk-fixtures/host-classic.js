// The SDK as a classic script: the global exists as soon as it has run.
window.__sdkLoaded = { how: "classic", hasGlobal: typeof window.Embedcare === "object" };
