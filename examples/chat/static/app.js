// The chat page: join a room over a WebSocket, show its messages and members.
// No build step. `window.chat` exposes the state, for tests and the console.
"use strict";

const $ = (id) => document.getElementById(id);
const chat = (window.chat = { status: "idle", messages: [], members: [], socket: null, me: null });

function setStatus(text) {
  chat.status = text;
  $("status").textContent = text;
}

function addLine(cls, who, text) {
  const li = document.createElement("li");
  if (cls) li.className = cls;
  if (who) {
    const span = document.createElement("span");
    span.className = "who";
    span.textContent = who;
    li.append(span);
  }
  li.append(document.createTextNode(text));
  $("log").append(li);
  li.scrollIntoView({ block: "end" });
}

function showMembers() {
  const list = $("members");
  list.replaceChildren(
    ...chat.members.map((name) => {
      const li = document.createElement("li");
      li.textContent = name;
      return li;
    }),
  );
}

function join(room, name, token) {
  if (chat.socket) chat.socket.close(1000, "switching rooms");
  const params = new URLSearchParams({ room });
  if (name) params.set("name", name);
  // Browsers cannot set an Authorization header on a WebSocket: the token
  // rides as a subprotocol entry when it is a valid token, else in the query.
  const protocols = ["chat"];
  if (token) {
    if (/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/.test(token)) protocols.push("bearer." + token);
    else params.set("token", token);
  }
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}/ws?${params}`, protocols);
  chat.socket = socket;
  setStatus("connecting…");
  $("room-name").textContent = room;
  socket.onopen = () => {
    setStatus(`in ${room} (${socket.extensions || "no extensions"})`);
    $("text").disabled = false;
    $("send-button").disabled = false;
    $("text").focus();
  };
  socket.onmessage = (event) => {
    const msg = JSON.parse(event.data);
    if (msg.type === "members") {
      chat.me = msg.you;
      chat.members = msg.members;
      showMembers();
      addLine("notice", null, `You joined ${msg.room} as ${msg.you}.`);
    } else if (msg.type === "join") {
      chat.members = [...chat.members, msg.name].sort();
      showMembers();
      addLine("notice", null, `${msg.name} joined.`);
    } else if (msg.type === "present") {
      // Someone on another instance who was already in the room.
      chat.members = [...chat.members, msg.name].sort();
      showMembers();
    } else if (msg.type === "leave") {
      const i = chat.members.indexOf(msg.name);
      if (i >= 0) chat.members.splice(i, 1);
      showMembers();
      addLine("notice", null, `${msg.name} left.`);
    } else if (msg.type === "message") {
      chat.messages.push(msg);
      addLine(null, msg.name, msg.text);
    }
  };
  socket.onclose = (event) => {
    if (chat.socket !== socket) return;
    setStatus(`closed: ${event.code}${event.reason ? " " + event.reason : ""}`);
    $("text").disabled = true;
    $("send-button").disabled = true;
  };
}

function send(text) {
  if (!chat.socket || chat.socket.readyState !== WebSocket.OPEN || !text) return false;
  chat.socket.send(text);
  chat.messages.push({ type: "message", room: $("room").value, name: chat.me, text, mine: true });
  addLine("mine", chat.me, text);
  return true;
}
chat.send = send;

$("join").addEventListener("submit", (e) => {
  e.preventDefault();
  join($("room").value.trim(), $("name").value.trim(), $("token").value);
});
$("send").addEventListener("submit", (e) => {
  e.preventDefault();
  if (send($("text").value)) $("text").value = "";
});

// ?room=NAME&name=NICK&token=T joins at once.
const query = new URLSearchParams(location.search);
for (const key of ["room", "name", "token"]) if (query.has(key)) $(key).value = query.get(key);
if (query.has("room")) join(query.get("room"), query.get("name") || "", query.get("token") || "");
