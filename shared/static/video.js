// The room page's video: WebRTC peer to peer, no third-party script. The
// join data is the page's (#video-context: the room, the ICE servers of
// the configuration, a signalling token); the signalling (offers, answers,
// ICE candidates) travels over the visit's live socket as
// {type: "signal", to?, data} frames, relayed by the server to the other
// connections of the visit as {v: 1, type: "signal", from, data}.
//
// The patient's and the guest's pages share clinic.js's socket (it calls
// embedcareVideo.attach(sock) and hands every frame to
// embedcareVideo.frame(f)); the provider's page opens its own with the
// signalling token (ownSocket). One RTCPeerConnection per other
// connection, "perfect negotiation" (the connection with the smaller id
// is the polite one). Works without a camera (audio only) or without any
// device (chat only), and says so.
(function () {
  "use strict";
  var el = document.getElementById("video-context");
  if (!el) return;
  var vctx = {};
  try { vctx = JSON.parse(el.textContent); } catch (e) { return; }
  var W = vctx.words || {};
  var join = vctx.join || {};
  var ice = join.iceServers || [];
  var sock = null, me = null, greeted = null, left = false;
  var local = null, mediaDone = false;
  var peers = {};
  function $(id) { return document.getElementById(id); }
  function note(text) { var n = $("video-note"); if (n) { n.textContent = text || ""; } }

  function send(to, data) {
    if (!sock || left) return false;
    var f = { type: "signal", data: data };
    if (to) f.to = to;
    return sock.send(f);
  }

  function remoteVideo(id) {
    var box = $("video-remotes");
    var v = box && box.querySelector('video[data-peer="' + id + '"]');
    if (!v && box) {
      v = document.createElement("video");
      v.setAttribute("data-peer", id);
      v.autoplay = true; v.playsInline = true;
      box.appendChild(v);
    }
    return v;
  }

  function drop(id) {
    var p = peers[id];
    if (!p) return;
    delete peers[id];
    try { p.pc.close(); } catch (e) {}
    var box = $("video-remotes");
    var v = box && box.querySelector('video[data-peer="' + id + '"]');
    if (v) v.remove();
    if (!Object.keys(peers).length && !left) note(W.waiting);
  }

  function addLocal(p) {
    var kinds = { audio: false, video: false };
    if (local) local.getTracks().forEach(function (t) { p.pc.addTrack(t, local); kinds[t.kind] = true; });
    // Receive what we do not send.
    ["audio", "video"].forEach(function (k) {
      if (!kinds[k]) p.pc.addTransceiver(k, { direction: "recvonly" });
    });
  }

  function peer(id, withTracks) {
    if (peers[id]) return peers[id];
    var pc = new RTCPeerConnection({ iceServers: ice });
    var p = { id: id, pc: pc, polite: String(me) < String(id), makingOffer: false, ignoreOffer: false, tracks: false, at: Date.now() };
    peers[id] = p;
    pc.onnegotiationneeded = function () {
      p.makingOffer = true;
      pc.setLocalDescription().then(function () {
        send(id, { kind: "description", description: pc.localDescription.toJSON() });
      }).catch(function () {}).then(function () { p.makingOffer = false; });
    };
    pc.onicecandidate = function (e) {
      if (e.candidate) send(id, { kind: "candidate", candidate: e.candidate.toJSON() });
    };
    pc.ontrack = function (e) {
      var v = remoteVideo(id);
      if (!v) return;
      var stream = (e.streams && e.streams[0]) || v.srcObject || new MediaStream();
      if (!e.streams || !e.streams[0]) stream.addTrack(e.track);
      if (v.srcObject !== stream) v.srcObject = stream;
      var play = v.play();
      if (play && play.catch) play.catch(function () {});
      note("");
    };
    pc.onconnectionstatechange = function () {
      if (pc.connectionState === "failed" || pc.connectionState === "closed") drop(id);
    };
    if (withTracks) { p.tracks = true; addLocal(p); }
    return p;
  }

  function onSignal(from, d) {
    if (left || !d || from === me) return;
    if (d.kind === "hello") {
      // A newcomer: this side offers (its tracks make the negotiation).
      drop(from);
      peer(from, true);
      return;
    }
    if (d.kind === "bye") { drop(from); return; }
    if (d.kind === "description" && d.description) {
      var p = peers[from] || peer(from, false);
      var desc = d.description;
      var collision = desc.type === "offer" && (p.makingOffer || p.pc.signalingState !== "stable");
      p.ignoreOffer = !p.polite && collision;
      if (p.ignoreOffer) return;
      p.pc.setRemoteDescription(desc).then(function () {
        if (desc.type !== "offer") return;
        if (!p.tracks) { p.tracks = true; addLocalAfterOffer(p); }
        return p.pc.setLocalDescription().then(function () {
          send(from, { kind: "description", description: p.pc.localDescription.toJSON() });
        });
      }).catch(function () {});
      return;
    }
    if (d.kind === "candidate" && d.candidate) {
      var q = peers[from];
      if (!q) return;
      q.pc.addIceCandidate(d.candidate).catch(function () {});
    }
  }

  // Answering a first offer: our tracks take the offered transceivers.
  function addLocalAfterOffer(p) {
    if (!local) return;
    local.getTracks().forEach(function (t) {
      var free = p.pc.getTransceivers().filter(function (tr) {
        return tr.receiver.track && tr.receiver.track.kind === t.kind && !tr.sender.track;
      })[0];
      if (free) {
        free.direction = "sendrecv";
        free.sender.replaceTrack(t);
        free.sender.setStreams && free.sender.setStreams(local);
      } else {
        p.pc.addTrack(t, local);
      }
    });
  }

  function greet() {
    if (!mediaDone || !me || greeted === me || left) return;
    greeted = me;
    send(null, { kind: "hello" });
  }

  function controls() {
    var mute = $("video-mute"), cam = $("video-camera"), leave = $("video-leave");
    var audio = local ? local.getAudioTracks() : [], video = local ? local.getVideoTracks() : [];
    if (mute) {
      mute.disabled = !audio.length;
      mute.addEventListener("click", function () {
        var on = audio.length && audio[0].enabled;
        audio.forEach(function (t) { t.enabled = !on; });
        mute.setAttribute("aria-pressed", on ? "true" : "false");
        mute.textContent = on ? W.unmute : W.mute;
      });
    }
    if (cam) {
      cam.disabled = !video.length;
      cam.addEventListener("click", function () {
        var on = video.length && video[0].enabled;
        video.forEach(function (t) { t.enabled = !on; });
        cam.setAttribute("aria-pressed", on ? "true" : "false");
        cam.textContent = on ? W.cameraOn : W.cameraOff;
      });
    }
    if (leave) leave.addEventListener("click", hangUp);
  }

  function hangUp() {
    if (left) return;
    send(null, { kind: "bye" });
    left = true;
    Object.keys(peers).forEach(drop);
    if (local) local.getTracks().forEach(function (t) { t.stop(); });
    ["video-mute", "video-camera", "video-leave"].forEach(function (b) { if ($(b)) $(b).disabled = true; });
    note(W.left);
  }

  function media() {
    var md = navigator.mediaDevices;
    var got = function (s) { local = s; var v = $("video-local"); if (v && s.getVideoTracks().length) v.srcObject = s; };
    if (!md || !md.getUserMedia) return Promise.resolve(note(W.noMedia));
    return md.getUserMedia({ audio: true, video: true }).then(function (s) { got(s); note(W.waiting); })
      .catch(function () {
        return md.getUserMedia({ audio: true }).then(function (s) { got(s); note(W.noCamera); })
          .catch(function () { note(W.noMedia); });
      });
  }

  // Signals that arrive before our own media is settled wait for it: a
  // peer made then would offer without our tracks.
  var early = [];
  media().then(function () {
    mediaDone = true; controls();
    early.splice(0).forEach(function (f) { onSignal(f.from, f.data); });
    greet();
  });

  // A peer not connected 10 s after it was made (a signal lost to a
  // reconnecting socket, ICE that gave up) starts over: a hello to that
  // connection makes it offer again.
  setInterval(function () {
    if (left) return;
    Object.keys(peers).forEach(function (id) {
      var p = peers[id];
      if (p.pc.connectionState === "connected" || Date.now() - p.at < 10000) return;
      drop(id);
      send(id, { kind: "hello" });
    });
  }, 2500);

  window.embedcareVideo = {
    attach: function (s) { sock = s; },
    frame: function (f) {
      if (!f) return;
      if (f.type === "ready" && f.connectionId) {
        if (me && me !== f.connectionId) Object.keys(peers).forEach(drop);
        me = f.connectionId; greet();
      } else if (f.type === "signal") {
        if (mediaDone) onSignal(f.from, f.data); else early.push(f);
      }
    },
    hangUp: hangUp,
    peers: function () { return Object.keys(peers); }
  };
  window.addEventListener("pagehide", function () { send(null, { kind: "bye" }); });

  // The provider's page: its own socket, with the signalling token as its
  // credential (subprotocol "bearer.{token}"); a ping every 15 s, a
  // reconnection after a second, with the newest signalling token (each
  // pong carries a fresh one: the first expires ten minutes after the page
  // was served, a call can last longer).
  function ownSocket() {
    var url = vctx.liveUrl || (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/v2/visits/" + vctx.visitId + "/live";
    var ws = null, pinger = null;
    function open() {
      if (left) return;
      try { ws = new WebSocket(url, ["embedcare.live.v1", "bearer." + join.signalling.token]); } catch (e) { return; }
      ws.onopen = function () {
        pinger = setInterval(function () { s.send({ type: "ping" }); }, 15000);
        s.send({ type: "sync" });
      };
      ws.onmessage = function (e) {
        var f = null;
        try { f = JSON.parse(e.data); } catch (x) { return; }
        if (f && f.v === 1) {
          if (f.type === "pong" && f.signalling && f.signalling.token) join.signalling = f.signalling;
          window.embedcareVideo.frame(f);
          if (window.embedcarePresence) window.embedcarePresence(f);
        }
      };
      ws.onclose = function () { ws = null; clearInterval(pinger); setTimeout(open, 1000); };
    }
    var s = {
      send: function (f) { if (ws && ws.readyState === 1) { ws.send(JSON.stringify(f)); return true; } return false; },
      isOpen: function () { return !!ws && ws.readyState === 1; }
    };
    open();
    return s;
  }
  if (vctx.ownSocket && join.signalling) sock = ownSocket();
})();
