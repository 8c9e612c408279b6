// The console's only script. Every page works without it; with it:
// - a form with data-target="#id" is posted with fetch and the element's content replaced by the
//   fragment the server answers (the server sends fragments when it sees X-Console-Fragment: 1);
// - an element with data-poll="url" is replaced by a fresh fragment from url every data-poll-every
//   milliseconds, until the fragment that comes back no longer polls (a sync run that finished).
"use strict";
(() => {
  const FRAGMENT = { "X-Console-Fragment": "1" };
  const csrfToken = () => document.querySelector('meta[name="csrf-token"]')?.content ?? "";

  const followRedirect = (response) => {
    const location = response.headers.get("X-Console-Location");
    if (location) window.location.assign(location);
    return Boolean(location);
  };

  const parse = async (response) => {
    const template = document.createElement("template");
    template.innerHTML = (await response.text()).trim();
    return template.content;
  };

  const poll = (element) => {
    const every = Number(element.dataset.pollEvery) || 1000;
    window.setTimeout(async () => {
      if (!element.isConnected) return;
      try {
        const response = await fetch(element.dataset.poll, { headers: FRAGMENT, credentials: "same-origin" });
        if (followRedirect(response)) return;
        if (!response.ok) throw new Error(`status ${response.status}`);
        const content = await parse(response);
        const fresh = content.firstElementChild;
        element.replaceWith(content);
        if (fresh) activate(fresh);
      } catch {
        poll(element); // a blip: try again
      }
    }, every);
  };

  const submit = async (form, event) => {
    const target = document.querySelector(form.dataset.target);
    if (!target) return;
    event.preventDefault();
    const body = new URLSearchParams(new FormData(form, event.submitter));
    const buttons = form.querySelectorAll("button");
    buttons.forEach((b) => { b.disabled = true; });
    try {
      const response = await fetch(form.action, {
        method: "POST",
        body,
        credentials: "same-origin",
        headers: { ...FRAGMENT, "X-CSRFToken": csrfToken() },
      });
      if (followRedirect(response)) return;
      target.replaceChildren(await parse(response));
      activate(target);
      form.reset();
    } catch {
      form.submit(); // fall back to a plain post
    } finally {
      buttons.forEach((b) => { b.disabled = false; });
    }
  };

  const activate = (root) => {
    const all = (selector) => [
      ...(root.matches?.(selector) ? [root] : []),
      ...root.querySelectorAll(selector),
    ];
    all("[data-poll]").forEach(poll);
    all("form[data-target]").forEach((form) => {
      form.addEventListener("submit", (event) => submit(form, event));
    });
  };

  activate(document.body);
})();
