// Live updates: the participant's notifications from /app/events become DOM events (`idx:messageAvailable`,
// `idx:flowControl`, `idx:outage`) that the screens' htmx regions refresh on, and short notices for people.
(() => {
  "use strict";
  const status = document.getElementById("live-status");
  const notices = document.getElementById("notices");
  let since = null;
  let delay = 1000;

  function describe(frame) {
    switch (frame.eventType) {
      case "messageAvailable":
        return `New ${frame.priority || ""} message ${frame.messageContextId} from ${frame.initiatingParticipantId}`;
      case "flowControl":
        return `Flow control of ${frame.businessFunctionId}: ${frame.messageStatus}, ${frame.messageCount} in queue` +
          (frame.manualStop ? ", stopped by you" : "");
      case "outage":
        return `Outage: ${frame.detail}`;
      case "certificateExpiry":
        return `Certificate ${frame.certificateSerialNumber} expires in ${frame.daysLeft} days (${frame.notAfter})`;
      default:
        return frame.eventType;
    }
  }

  function announce(frame) {
    const item = document.createElement("li");
    item.className = `notice notice-${frame.eventType}`;
    item.textContent = describe(frame);
    notices.prepend(item);
    while (notices.children.length > 5) notices.lastElementChild.remove();
    setTimeout(() => item.remove(), 15000);
  }

  function show(state, text) {
    status.dataset.state = state;
    status.textContent = text;
  }

  function connect() {
    const url = new URL("/app/events", window.location.href);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    // After a drop, ask for what was missed: the exchange replays every frame after the last one seen.
    if (since !== null) url.searchParams.set("since", String(since));
    const socket = new WebSocket(url);
    socket.addEventListener("open", () => {
      delay = 1000;
      show("on", "Live");
    });
    socket.addEventListener("message", (event) => {
      const frame = JSON.parse(event.data);
      since = frame.sequence;
      announce(frame);
      document.body.dispatchEvent(new CustomEvent(`idx:${frame.eventType}`, { detail: frame }));
    });
    socket.addEventListener("close", (event) => {
      if (event.code >= 4400 && event.code < 4500) {
        show("off", event.code === 4403 ? "Live updates off (no EVENT_NOTIFY)" : "Live updates off");
        return;
      }
      show("retrying", "Reconnecting…");
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 30000);
    });
  }

  if (status && notices) connect();
})();
