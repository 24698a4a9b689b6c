// A page of a foreign origin (or a second frame of the app's origin that the
// SDK did not mount): posts look-alikes of every message the app posts, to
// its parent and to the top window, with a wildcard. The SDK must ignore
// them all. Each carries `spoof: true` so the test can tell them apart.
(function () {
  "use strict";
  var messages = [
    { type: "embed.ready", view: "consultation/start", tenantKey: "demo", locale: "en", userId: "u-spoof", spoof: true },
    { type: "embed.resize", height: 3333, spoof: true },
    { type: "session.expired", tenantKey: "demo", view: "consultation/start", spoof: true },
    { type: "embed.exit", reason: "spoofed", spoof: true },
    {
      id: "evt-spoof", createdAt: new Date().toISOString(), eventType: "consultation", operation: "update",
      status: "DONE", tenantKey: "demo", data: { consultationId: "c-spoof" }, spoof: true,
    },
  ];
  window.spoof = function () {
    var targets = [window.parent];
    if (window.top !== window.parent) targets.push(window.top);
    targets.forEach(function (w) {
      messages.forEach(function (m) { w.postMessage(m, "*"); });
    });
    return messages.length * targets.length;
  };
  window.spoofCount = window.spoof();
})();
