// judgeloop review: the labelling page. Keyboard first, no framework, no network but this server.
(() => {
  "use strict";
  const boot = JSON.parse(document.getElementById("boot").textContent);
  const $ = (id) => document.getElementById(id);
  const mode = boot.mode;
  const state = { item: null, tags: [], started: 0, busy: false, scores: {}, active: 0, last: null };
  const taxonomy = boot.tags.slice();
  const comment = $("comment");
  const tagInput = $("tag-input");

  // --- talking to the API -------------------------------------------------------------------

  async function api(method, url, body) {
    const init = {
      method,
      credentials: "same-origin",
      headers: { "X-CSRF-Token": boot.csrf, "X-Judgeloop-Project": boot.project, Accept: "application/json" },
    };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const r = await fetch(url, init);
    if (r.status === 401) {
      location.href = "/review/login?next=" + encodeURIComponent(location.pathname);
      throw new Error("signed out");
    }
    if (!r.ok) {
      let msg = r.status + " " + r.statusText;
      try { msg = (await r.json()).detail || msg; } catch (_) { /* not JSON */ }
      throw new Error(msg);
    }
    return r.status === 204 ? null : r.json();
  }

  // --- rendering ----------------------------------------------------------------------------

  function el(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function renderInput(input) {
    const box = $("input");
    box.replaceChildren();
    if (Array.isArray(input)) {
      box.className = "input-body chat";
      for (const m of input) {
        const role = String(m.role || "user");
        const bubble = el("div", "bubble bubble-" + (["user", "assistant", "system", "tool"].includes(role) ? role : "other"));
        bubble.append(el("span", "role", role), el("div", "content", typeof m.content === "string" ? m.content : JSON.stringify(m.content, null, 2)));
        box.append(bubble);
      }
    } else {
      box.className = "input-body";
      box.append(el("pre", "text", input));
    }
  }

  function renderMeta(meta) {
    const dl = $("meta");
    dl.replaceChildren();
    const keys = Object.keys(meta || {}).filter((k) => !k.startsWith("_"));
    for (const k of keys) {
      const v = meta[k];
      dl.append(el("dt", "", k), el("dd", "", typeof v === "string" ? v : JSON.stringify(v)));
    }
    $("meta-box").hidden = keys.length === 0;
  }

  function chars(text) {
    const n = (text || "").length;
    return n.toLocaleString() + " chars";
  }

  function renderOutputs(s, item) {
    if (mode === "pairwise") {
      const left = item.pair.left === "A" ? s.model_output : s.output_b;
      const right = item.pair.left === "A" ? s.output_b : s.model_output;
      $("left").textContent = left || "";
      $("right").textContent = right || "";
      $("left-len").textContent = chars(left);
      $("right-len").textContent = chars(right);
      $("left").scrollTop = $("right").scrollTop = 0;
      return;
    }
    $("output").textContent = s.model_output;
    $("output").scrollTop = 0;
    $("output-len").textContent = chars(s.model_output);
  }

  function renderVerdict(v) {
    if (mode !== "evaluator") return;
    const pill = $("verdict-label");
    if (!v) {
      $("verdict-name").textContent = "—";
      pill.textContent = "no verdict";
      pill.className = "verdict-pill";
      $("verdict-conf").textContent = "";
      return;
    }
    $("verdict-name").textContent = v.evaluator + (v.version ? "@" + v.version : "");
    pill.textContent = v.label === 1 ? "GOOD" : "BAD";
    pill.className = "verdict-pill " + (v.label === 1 ? "pill-good" : "pill-bad");
    const p = v.probability;
    $("verdict-conf").textContent = p === null || p === undefined ? "" :
      "confidence " + Math.round(100 * (v.label === 1 ? p : 1 - p)) + "% · P(good) " + p.toFixed(2);
    $("verdict-rationale").hidden = !v.rationale;
    $("verdict-rationale").textContent = v.rationale || "";
  }

  function renderRubric() {
    if (mode !== "likert") return;
    const list = $("rubric");
    list.replaceChildren();
    boot.criteria.forEach((c, i) => {
      const row = el("li", "criterion" + (i === state.active ? " active" : ""));
      const head = el("div", "crit-head");
      head.append(el("strong", "", c.name));
      if (c.description) head.append(el("span", "muted small", c.description));
      const scale = el("div", "scale");
      for (let v = c.min; v <= c.max; v++) {
        const b = el("button", "score" + (state.scores[c.name] === v ? " picked" : ""), v);
        b.type = "button";
        b.addEventListener("click", () => { state.active = i; setScore(v); });
        scale.append(b);
      }
      row.append(head, scale);
      list.append(row);
    });
  }

  function renderTags() {
    const box = $("tag-chips");
    box.replaceChildren();
    for (const t of state.tags) {
      const chip = el("button", "chip chip-tag", t + " ×");
      chip.type = "button";
      chip.title = "Remove";
      chip.addEventListener("click", () => { state.tags = state.tags.filter((x) => x !== t); renderTags(); });
      box.append(chip);
    }
  }

  function renderProgress(p) {
    const bar = $("progress");
    bar.max = Math.max(1, p.needed);
    bar.value = p.done;
    $("progress-text").textContent = p.done + " of " + p.needed + " labels · you " + p.mine;
  }

  function show(item, prefill) {
    state.item = item;
    renderProgress(item.progress);
    if (item.done) {
      $("stage").hidden = true;
      $("actionbar").classList.add("is-done");
      $("done").hidden = false;
      $("done-text").textContent = "You labelled " + item.progress.mine + " item(s) here; the queue has " +
        item.progress.done + " of " + item.progress.needed + " labels.";
      return;
    }
    $("done").hidden = true;
    $("actionbar").classList.remove("is-done");
    $("stage").hidden = false;
    const s = item.session;
    $("session-id").textContent = s.id;
    renderInput(s.model_input);
    renderMeta(s.metadata);
    $("reference-box").hidden = !s.reference;
    $("reference").textContent = s.reference || "";
    renderOutputs(s, item);
    renderVerdict(item.verdict);
    state.tags = prefill ? prefill.failure_tags.slice() : [];
    comment.value = prefill && prefill.comment ? prefill.comment : "";
    state.scores = prefill && prefill.scores ? { ...prefill.scores } : {};
    state.active = 0;
    renderTags();
    renderRubric();
    state.started = performance.now();
    window.scrollTo(0, 0);
  }

  let toastTimer = 0;
  function toast(text, kind) {
    const t = $("toast");
    t.textContent = text;
    t.className = "toast" + (kind ? " toast-" + kind : "");
    t.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { t.hidden = true; }, kind === "error" ? 6000 : 2200);
  }

  // --- actions ------------------------------------------------------------------------------

  async function guarded(fn) {
    if (state.busy) return;
    state.busy = true;
    document.body.classList.add("busy");
    try { await fn(); } catch (e) { toast(e.message, "error"); } finally {
      state.busy = false;
      document.body.classList.remove("busy");
    }
  }

  async function loadNext(prefill) {
    show(await api("GET", "/v1/queues/" + boot.queueId + "/next"), prefill);
  }

  function submit(fields, metadata, message) {
    const item = state.item;
    if (!item || item.done) return;
    const pending = tagInput.value.trim();
    if (pending) addTag(pending);
    const body = {
      session_id: item.session.id,
      kind: item.label_kind,
      failure_tags: state.tags.slice(),
      comment: comment.value.trim() || null,
      duration_ms: Math.round(performance.now() - state.started),
      metadata: { queue_id: boot.queueId, assignment_id: item.assignment_id, ...metadata },
      ...fields,
    };
    return guarded(async () => {
      await api("POST", "/v1/labels", body);
      state.last = { session_id: body.session_id, failure_tags: body.failure_tags, comment: body.comment, scores: body.scores };
      for (const t of body.failure_tags) if (!taxonomy.includes(t)) taxonomy.push(t);
      toast(message + " · u to undo", "ok");
      await loadNext();
    });
  }

  function binary(good) {
    const v = state.item && state.item.verdict;
    const meta = {};
    if (mode === "evaluator" && v) {
      Object.assign(meta, { evaluator: v.evaluator, evaluator_version: v.version, verdict_label: v.label,
        verdict_probability: v.probability, agrees_with_evaluator: (v.label === 1) === good });
    }
    submit({ good }, meta, good ? "Saved: good" : "Saved: bad");
  }

  function confirmVerdict() {
    const v = state.item && state.item.verdict;
    if (!v) { toast("No verdict to confirm: label it with 1 or 0", "error"); return; }
    binary(v.label === 1);
  }

  function pick(side) {
    const pair = state.item && state.item.pair;
    if (!pair) return;
    const choice = side === "tie" ? "tie" : pair[side];
    submit({ choice }, { left: pair.left, shown_choice: side }, side === "tie" ? "Saved: tie" : "Saved: " + side + " is better");
  }

  function setScore(v) {
    const c = boot.criteria[state.active];
    if (!c || v < c.min || v > c.max) return;
    state.scores[c.name] = v;
    if (state.active < boot.criteria.length - 1) state.active += 1;
    renderRubric();
  }

  function submitScores() {
    const missing = boot.criteria.filter((c) => state.scores[c.name] === undefined);
    if (missing.length) { toast("Score every criterion first: " + missing.map((c) => c.name).join(", "), "error"); return; }
    submit({ scores: { ...state.scores } }, {}, "Saved scores");
  }

  function skip() {
    const item = state.item;
    if (!item || item.done) return;
    guarded(async () => {
      await api("POST", "/v1/queues/" + boot.queueId + "/skip", { assignment_id: item.assignment_id });
      toast("Skipped · u to undo");
      await loadNext();
    });
  }

  function undo() {
    guarded(async () => {
      const r = await api("POST", "/v1/queues/" + boot.queueId + "/undo");
      const prefill = state.last && state.last.session_id === r.session_id ? state.last : null;
      state.last = null;
      await loadNext(prefill);
      toast(r.withdrawn_label_id ? "Label withdrawn: label it again" : "Skip undone", "ok");
    });
  }

  // --- tags ---------------------------------------------------------------------------------

  function matches(text) {
    const q = text.trim().toLowerCase();
    return taxonomy.filter((t) => !state.tags.includes(t) && (!q || t.toLowerCase().includes(q))).slice(0, 8);
  }

  function addTag(text) {
    const q = text.trim();
    if (!q) return;
    const known = taxonomy.find((t) => t.toLowerCase() === q.toLowerCase());
    const tag = known || q;
    if (!state.tags.includes(tag)) state.tags.push(tag);
    tagInput.value = "";
    renderTags();
    renderSuggestions();
  }

  function renderSuggestions() {
    const box = $("tag-suggest");
    box.replaceChildren();
    const found = matches(tagInput.value);
    found.forEach((t, i) => {
      const b = el("button", "chip chip-suggest" + (i === 0 && tagInput.value.trim() ? " first" : ""), t);
      b.type = "button";
      b.addEventListener("mousedown", (e) => { e.preventDefault(); addTag(t); });
      box.append(b);
    });
    if (tagInput.value.trim() && !taxonomy.some((t) => t.toLowerCase() === tagInput.value.trim().toLowerCase())) {
      box.append(el("span", "muted small", "⇧↵ adds “" + tagInput.value.trim() + "” as a new tag"));
    }
    box.hidden = document.activeElement !== tagInput || box.childElementCount === 0;
  }

  tagInput.addEventListener("focus", renderSuggestions);
  tagInput.addEventListener("input", renderSuggestions);
  tagInput.addEventListener("blur", () => { $("tag-suggest").hidden = true; });
  tagInput.addEventListener("keydown", (e) => {
    if (e.key === "Enter") {
      e.preventDefault();
      const text = tagInput.value.trim();
      if (!text) { tagInput.blur(); return; }
      const first = matches(text)[0];
      addTag(e.shiftKey || !first ? text : first);
    } else if (e.key === "Backspace" && !tagInput.value && state.tags.length) {
      state.tags.pop();
      renderTags();
      renderSuggestions();
    }
  });

  // --- keyboard -----------------------------------------------------------------------------

  const keys = {
    binary: { "1": () => binary(true), "0": () => binary(false) },
    evaluator: { "1": () => binary(true), "0": () => binary(false), y: confirmVerdict },
    pairwise: { "1": () => pick("left"), ArrowLeft: () => pick("left"), "2": () => pick("right"),
      ArrowRight: () => pick("right"), "0": () => pick("tie"), "=": () => pick("tie") },
    likert: { Enter: submitScores, ArrowDown: () => moveCriterion(1), j: () => moveCriterion(1),
      ArrowUp: () => moveCriterion(-1), k: () => moveCriterion(-1) },
  }[mode];

  function moveCriterion(step) {
    state.active = Math.min(boot.criteria.length - 1, Math.max(0, state.active + step));
    renderRubric();
  }

  function focusInto(node) {
    node.focus();
    node.scrollIntoView({ block: "nearest" });
  }

  document.addEventListener("keydown", (e) => {
    const t = e.target;
    if (t === tagInput || t === comment) {
      if (e.key === "Escape" || (t === comment && e.key === "Enter" && (e.ctrlKey || e.metaKey))) {
        e.preventDefault();
        t.blur();
      }
      return;
    }
    if (e.ctrlKey || e.metaKey || e.altKey || e.repeat) return;
    if (e.key === "u") { e.preventDefault(); undo(); return; }
    if (!state.item || state.item.done) return;
    let action = keys[e.key];
    if (!action && mode === "likert" && /^[0-9]$/.test(e.key)) action = () => setScore(Number(e.key));
    if (!action) {
      action = { t: () => focusInto(tagInput), c: () => focusInto(comment), n: skip }[e.key];
    }
    if (action) {
      e.preventDefault();
      action();
    }
  });

  document.querySelectorAll("[data-act]").forEach((b) => {
    b.addEventListener("click", () => {
      ({ good: () => binary(true), bad: () => binary(false), confirm: confirmVerdict, left: () => pick("left"),
        right: () => pick("right"), tie: () => pick("tie"), submit: submitScores, skip, undo })[b.dataset.act]();
      b.blur();
    });
  });

  guarded(() => loadNext());
})();
