// Case chat: posts the question and shows the answer as it streams (Server-Sent Events read
// from a fetch response, since EventSource cannot POST). Text is only ever set as textContent.
"use strict";

(function () {
  const form = document.getElementById("chat-form");
  if (!form) return;
  const log = document.getElementById("chat-log");
  const status = document.getElementById("chat-status");
  const field = form.elements.namedItem("content");
  const button = form.querySelector("button[type=submit]");

  function message(role, who) {
    const box = document.createElement("div");
    box.className = "msg " + role;
    const name = document.createElement("p");
    name.className = "who";
    name.textContent = who;
    const text = document.createElement("p");
    text.className = "text";
    box.append(name, text);
    log.append(box);
    return box;
  }

  function showTool(box, data) {
    let list = box.querySelector("ul.tools");
    if (!list) {
      list = document.createElement("ul");
      list.className = "tools";
      list.setAttribute("aria-label", "tools the agent ran");
      box.insertBefore(list, box.querySelector(".text"));
    }
    const item = document.createElement("li");
    item.append("tool: " + data.name);
    const ids = (data.event_ids || []).filter((id) => /^e[0-9]+$/.test(id));
    ids.forEach((id, index) => {
      item.append(index === 0 ? " (" : ", ");
      const link = document.createElement("a");
      link.href = "#" + id;
      link.textContent = id;
      item.append(link);
    });
    if (ids.length) item.append(")");
    list.append(item);
  }

  function parseBlock(block) {
    let kind = "message";
    const data = [];
    for (const line of block.split("\n")) {
      if (line.startsWith(":")) continue; // keep-alive comment
      if (line.startsWith("event:")) kind = line.slice(6).trim();
      else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
    }
    return data.length ? { kind, data: JSON.parse(data.join("\n")) } : null;
  }

  async function ask(question) {
    const answer = message("assistant", "fraudlens agent");
    const text = answer.querySelector(".text");
    const response = await fetch(form.action, {
      method: "POST",
      headers: { Accept: "text/event-stream" },
      body: new URLSearchParams(new FormData(form)),
      credentials: "same-origin",
    });
    if (!response.ok) {
      answer.remove();
      throw new Error("refused (" + response.status + ")");
    }
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer = (buffer + value).replace(/\r\n?/g, "\n");
      let cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const event = parseBlock(buffer.slice(0, cut));
        buffer = buffer.slice(cut + 2);
        if (!event) continue;
        if (event.kind === "tool") showTool(answer, event.data);
        else if (event.kind === "token") text.textContent += event.data.text;
        else if (event.kind === "done") {
          text.textContent = event.data.content;
          status.textContent = "Answered.";
        } else if (event.kind === "error") {
          status.textContent = "The agent could not answer: " + event.data.message;
        }
      }
    }
  }

  form.addEventListener("submit", async (submitted) => {
    submitted.preventDefault();
    const question = field.value.trim();
    if (!question) return;
    message("user", "you").querySelector(".text").textContent = question;
    button.disabled = true;
    status.textContent = "The agent is answering…";
    try {
      await ask(question);
      field.value = "";
    } catch (error) {
      status.textContent = "Could not ask: " + error.message;
    } finally {
      button.disabled = false;
      field.focus();
    }
  });
  // Until this runs the form posts as a plain page (the answer without its tools); tests and
  // scripts wait for this mark before asking through the stream.
  form.dataset.streaming = "ready";
})();
