// embedcare: who is in a visit's room, drawn from the frames of its live
// connection (the patient's and guest's pages get them through clinic.js,
// the provider's room view through video.js's own socket). Frames name
// people by participant id and type only, never by name.
(function () {
  "use strict";
  // Who is in the room: the live connection's `ready` frame lists the
  // visit's people ({participantId, participantType, status, lastSeenAt})
  // and which is this page (`you`); each `presence` frame changes one.
  // Shown in the page's #presence list (the patient's room, the guest's,
  // the provider's room view).
  var people = {}, you = null;
  window.embedcarePresence = function (f) {
    if (!f || (f.type !== "ready" && f.type !== "presence")) return;
    if (f.type === "ready") {
      people = {}; you = f.you || null;
      (f.participants || []).forEach(function (p) { people[p.participantId] = p; });
    } else if (f.participant && f.participant.participantId) {
      people[f.participant.participantId] = f.participant;
    }
    var ul = document.getElementById("presence");
    if (!ul) return;
    ul.setAttribute("aria-live", "polite");
    var fr = (document.documentElement.lang || "").toLowerCase().indexOf("fr") === 0;
    var kinds = fr
      ? { PATIENT: "Patient", PRACTITIONER: "Praticien", RELATED_PERSON: "Proche", GUEST: "Invité" }
      : { PATIENT: "Patient", PRACTITIONER: "Practitioner", RELATED_PERSON: "Related person", GUEST: "Guest" };
    var states = fr
      ? { JOINED: "connecté", DISCONNECTED: "déconnecté", JOINING: "arrive", INVITED: "invité", LEFT: "parti", DISMISSED: "renvoyé", DECLINED: "a décliné" }
      : { JOINED: "connected", DISCONNECTED: "disconnected", JOINING: "joining", INVITED: "invited", LEFT: "left", DISMISSED: "dismissed", DECLINED: "declined" };
    ul.textContent = "";
    Object.keys(people).forEach(function (k) {
      var p = people[k];
      if (p.status === "DISMISSED" || p.status === "DECLINED") return;
      var li = document.createElement("li");
      li.setAttribute("data-participant", p.participantId);
      li.setAttribute("data-status", p.status);
      li.textContent = (kinds[p.participantType] || p.participantType) + (k === you ? (fr ? " (vous)" : " (you)") : "") +
        ": " + (states[p.status] || p.status);
      ul.appendChild(li);
    });
  };
})();
