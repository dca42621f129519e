// Cato's operator's page. It reads the admin API of the gateway that
// served it (same origin only) every few seconds and sets the rollout
// percentage through it. No data is in the page itself; the admin key,
// when Cato needs one, is kept in this tab's session storage.
"use strict";

(function () {
  const REFRESH_MS = 3000;
  const KEY_ITEM = "cato.adminKey";
  const ACTOR_ITEM = "cato.actor";
  const $ = (id) => document.getElementById(id);

  let timer = null;
  let busy = false;

  function key() { return sessionStorage.getItem(KEY_ITEM) || ""; }

  // api calls the admin API; it resolves to the decoded JSON body, or
  // rejects with an Error whose status is the HTTP status.
  async function api(method, path, body) {
    const headers = { "Accept": "application/json" };
    if (key()) headers["Authorization"] = "Bearer " + key();
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const resp = await fetch(path, {
      method: method, headers: headers, cache: "no-store", credentials: "omit",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    let data = null;
    try { data = await resp.json(); } catch (e) { data = null; }
    if (!resp.ok) {
      const msg = data && data.error && data.error.message ? data.error.message : resp.status + " " + resp.statusText;
      const err = new Error(msg);
      err.status = resp.status;
      throw err;
    }
    return data;
  }

  function say(text, isError) {
    const m = $("message");
    m.textContent = text;
    m.classList.toggle("error", !!isError);
    m.hidden = !text;
  }

  // --- formatting -------------------------------------------------------

  function num(v) { return typeof v === "number" && isFinite(v) ? v : 0; }
  function pct(v) { return (num(v) * 100).toFixed(num(v) * 100 < 10 ? 2 : 1) + "%"; }
  function msf(v) { return num(v) < 10 ? num(v).toFixed(1) + " ms" : Math.round(num(v)) + " ms"; }
  function usd(v) { return "$" + num(v).toFixed(num(v) < 1 ? 4 : 2); }
  function count(v) { return num(v).toLocaleString("en-US"); }
  function percentage(v) { return String(Math.round(num(v) * 100) / 100); }
  function when(s) {
    if (!s) return "";
    const d = new Date(s);
    return isNaN(d) ? String(s) : d.toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z");
  }
  function duration(s) {
    s = Math.floor(num(s));
    const d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600), m = Math.floor(s % 3600 / 60);
    return (d ? d + "d " : "") + (d || h ? h + "h " : "") + m + "m " + (s % 60) + "s";
  }

  // cell makes a table cell; cls is an optional class.
  function cell(text, cls) {
    const td = document.createElement("td");
    td.textContent = text;
    if (cls) td.className = cls;
    return td;
  }
  function fill(tableId, rows) {
    const body = $(tableId).querySelector("tbody");
    body.replaceChildren();
    for (const r of rows) {
      const tr = document.createElement("tr");
      if (r.id) tr.id = r.id;
      for (const c of r.cells) tr.appendChild(c);
      body.appendChild(tr);
    }
    if (rows.length === 0) {
      const tr = document.createElement("tr");
      const td = cell("none", "muted");
      td.colSpan = $(tableId).querySelectorAll("thead th").length;
      tr.appendChild(td);
      body.appendChild(tr);
    }
  }
  function list(dlId, pairs) {
    const dl = $(dlId);
    dl.replaceChildren();
    for (const [k, v, id] of pairs) {
      const dt = document.createElement("dt");
      dt.textContent = k;
      const dd = document.createElement("dd");
      dd.textContent = v;
      if (id) dd.id = id;
      dl.append(dt, dd);
    }
  }

  // --- rendering --------------------------------------------------------

  function render(st, ro) {
    const r = st.rollout || {};
    const p = num(r.percentage);
    $("summary").textContent = "version " + (st.version || "?") + " · up " + duration(st.uptime_s) +
      " · " + count(st.requests) + " requests · error rate " + pct(st.error_rate) +
      " · p50 " + msf(st.latency_ms && st.latency_ms.p50) + " · p99 " + msf(st.latency_ms && st.latency_ms.p99) +
      " · " + count(st.in_flight) + " in flight" + (st.draining ? " · DRAINING" : "");
    $("rollout-percentage").textContent = percentage(p);
    $("rollout-meter").value = p;
    const cur = r.current || {};
    $("rollout-current").textContent = cur.at
      ? "Set " + when(cur.at) + " by " + (cur.actor || "?") + " through " + (cur.source || "?") + (cur.reason ? ": " + cur.reason : "")
      : "";
    if (document.activeElement !== $("rollout-value") && $("rollout-value").value === "") {
      $("rollout-value").value = percentage(p);
    }

    const traffic = r.traffic || {};
    const total = num(traffic.new) + num(traffic.legacy);
    const sides = r.sides || {};
    fill("sides", ["new", "legacy"].map((name) => {
      const s = sides[name] || {};
      const req = s.requests !== undefined ? s.requests : traffic[name];
      const cost = s.cost_unknown ? usd(s.cost_usd) + " (+" + count(s.cost_unknown) + " unknown)" : usd(s.cost_usd);
      return { id: "side-" + name, cells: [
        cell(name),
        cell(count(req), "num requests"),
        cell(total ? pct(num(req) / total) : "–", "num"),
        cell(count(s.window_requests), "num"),
        cell(pct(s.error_rate), "num error-rate" + (num(s.error_rate) > 0.01 ? " bad" : "")),
        cell(msf(s.p50_ms), "num"),
        cell(msf(s.p99_ms), "num p99" + (num(s.p99_ms) > 2000 ? " bad" : "")),
        cell(name === "new" ? pct(s.cache_hit_rate) + " (" + count(s.cache_hits) + ")" : "–", "num"),
        cell(cost, "num"),
      ] };
    }));

    const sat = r.satisfaction;
    $("satisfaction-block").hidden = !sat;
    if (sat) {
      fill("satisfaction", ["new", "legacy"].filter((n) => sat[n]).map((name) => {
        const s = sat[name];
        return { id: "satisfaction-" + name, cells: [
          cell(name), cell(count(s.ratings), "num"), cell(count(s.positive), "num"), cell(count(s.neutral), "num"),
          cell(count(s.negative), "num"), cell(pct(s.negative_share), "num"),
        ] };
      }));
    }

    const sh = r.shadow;
    $("shadow").textContent = sh
      ? "Shadow " + percentage(sh.percentage) + "%: " + count(sh.compared) + " compared, mean similarity " +
        num(sh.mean_similarity).toFixed(3) + ", " + count(sh.low_similarity) + " low, " + count(sh.error_mismatch) +
        " error mismatches, " + count(sh.dropped) + " dropped"
      : "";

    const g = r.auto_rollback;
    if (!g) {
      $("guard").textContent = "Not configured.";
    } else {
      let t = (g.enabled ? "On" : "Off") + " · " + count(g.trips) + " automatic rollback" + (g.trips === 1 ? "" : "s") + " since start";
      if (g.last_trip) {
        const lt = g.last_trip;
        t += " · last " + when(lt.at) + ": " + lt.reason + " (error rate " + pct(lt.error_rate) + ", p99 " + msf(lt.p99_ms) +
          " over " + count(lt.requests) + " requests)";
      }
      $("guard").textContent = t;
    }

    const history = (ro && ro.history) || r.history || [];
    fill("history", history.map((f) => ({ cells: [
      cell(when(f.at)), cell(percentage(f.percentage) + "%", "num"),
      cell(f.source || "", f.source === "auto_rollback" ? "bad" : ""), cell(f.actor || ""), cell(f.reason || ""),
    ] })));

    const br = st.breakers || {};
    fill("breakers", Object.keys(br).sort().map((m) => {
      const b = br[m];
      return { cells: [
        cell(m), cell(b.state || "?", "state-" + (b.state || "")), cell(count(b.failures), "num"),
        cell(count(b.window_failures) + " / " + count(b.window_requests), "num"), cell(count(b.rejected), "num"),
      ] };
    }));

    const c = st.cache || {};
    list("cache", [
      ["hit rate", pct(c.hit_rate), "cache-hit-rate"], ["hits", count(c.hits)], ["misses", count(c.misses)],
      ["bypasses", count(c.bypasses)], ["entries", count(c.entries)],
    ]);

    const models = st.models || {};
    fill("models", Object.keys(models).sort().map((m) => {
      const u = models[m];
      return { cells: [
        cell(m), cell(count(u.requests), "num"), cell(count(u.input_tokens), "num"),
        cell(count(u.output_tokens), "num"), cell(usd(u.cost_usd), "num"),
      ] };
    }));

    const mem = st.memory;
    if (!mem || mem.enabled === false) {
      list("memory", [["long-term memory", "off"]]);
    } else {
      const q = mem.queue || {};
      list("memory", [
        ["depth", count(q.depth), "memory-depth"], ["in flight", count(q.in_flight)], ["lag", num(q.lag_s).toFixed(1) + " s"],
      ]);
    }
  }

  // --- refreshing -------------------------------------------------------

  async function refresh() {
    if (busy) return;
    busy = true;
    try {
      const [st, ro] = await Promise.all([
        api("GET", "/api/admin/cato/status"),
        api("GET", "/api/admin/cato/rollout?limit=20").catch((e) => {
          if (e.status === 404) return null; // no rollout configured
          throw e;
        }),
      ]);
      $("key-section").hidden = true;
      $("dashboard").hidden = false;
      render(st, ro);
      $("refreshed").textContent = "updated " + new Date().toLocaleTimeString("en-GB");
      if ($("message").classList.contains("error")) say("");
    } catch (e) {
      if (e.status === 401 || e.status === 403) {
        $("dashboard").hidden = true;
        $("key-section").hidden = false;
        say(key() ? "The admin API refused the key: " + e.message : "Enter the admin key.", !!key());
      } else {
        say("Could not read the admin API: " + e.message, true);
      }
    } finally {
      busy = false;
    }
  }

  function schedule() {
    clearInterval(timer);
    timer = setInterval(refresh, REFRESH_MS);
  }

  // setPercentage sets the flag through the admin API and shows the result.
  async function setPercentage(p, reason) {
    const actor = $("rollout-actor").value.trim() || "admin page";
    sessionStorage.setItem(ACTOR_ITEM, $("rollout-actor").value.trim());
    const body = { use_new_orchestrator: { percentage: p }, actor: actor };
    if (reason) body.reason = reason;
    try {
      await api("PUT", "/api/admin/cato/rollout", body);
      say(p === 0 ? "Rolled back: every user is on the legacy side." : "Rollout set to " + percentage(p) + "%.", false);
      $("rollout-value").value = "";
      $("rollout-reason").value = "";
    } catch (e) {
      say("Could not set the rollout: " + e.message, true);
    }
    await refresh();
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("rollout-actor").value = sessionStorage.getItem(ACTOR_ITEM) || "";

    $("key-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      sessionStorage.setItem(KEY_ITEM, $("admin-key").value);
      $("admin-key").value = "";
      say("");
      refresh();
    });

    $("forget-key").addEventListener("click", () => {
      sessionStorage.removeItem(KEY_ITEM);
      refresh();
    });

    $("rollout-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      const p = Number($("rollout-value").value);
      if ($("rollout-value").value === "" || !isFinite(p) || p < 0 || p > 100) {
        say("The percentage is a number from 0 to 100.", true);
        return;
      }
      setPercentage(p, $("rollout-reason").value.trim());
    });

    $("rollback").addEventListener("click", () => {
      $("rollback-reason").value = $("rollout-reason").value;
      $("rollback-dialog").showModal();
    });
    $("rollback-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      const confirmed = ev.submitter && ev.submitter.value === "confirm";
      $("rollback-dialog").close();
      if (confirmed) {
        setPercentage(0, $("rollback-reason").value.trim() || "rollback from the operator's page");
      }
    });

    document.addEventListener("visibilitychange", () => { if (!document.hidden) refresh(); });
    refresh();
    schedule();
  });
})();
