/*
 * The AWS Batch view's live pages (overview, queue, job): served by the view itself, no build
 * step, no inline code. Reads its settings from its own <script data-*> attributes:
 *   data-twin             the page's JSON twin ('' on pages that do not refresh)
 *   data-refresh-seconds  how often to poll it (0: never)
 *   data-now-ms           the server's clock when the page was rendered
 * Every poll sends If-None-Match with the last ETag; a 304 means nothing changed. When the twin
 * changed, the page itself is fetched again (rendered on the server, as on first load) and the
 * blocks of <main> that differ replace the old ones; blocks holding the keyboard focus stay.
 * Between polls, elements marked data-elapsed-from="<epoch ms>" tick every second.
 */
(function () {
  "use strict";

  var script = document.currentScript;
  if (!script) {
    return;
  }
  var twin = script.getAttribute("data-twin") || "";
  var every = Number(script.getAttribute("data-refresh-seconds") || "0");
  var skew = Number(script.getAttribute("data-now-ms") || String(Date.now())) - Date.now();
  var etag = null;
  var note = null;

  function two(value) {
    return (value < 10 ? "0" : "") + value;
  }

  function duration(seconds) {
    var total = Math.max(0, Math.round(seconds));
    var hours = Math.floor(total / 3600);
    var minutes = Math.floor((total % 3600) / 60);
    var rest = total % 60;
    return hours ? hours + "h " + two(minutes) + "m " + two(rest) + "s" : minutes + "m " + two(rest) + "s";
  }

  function tick() {
    var now = Date.now() + skew;
    document.querySelectorAll("[data-elapsed-from]").forEach(function (element) {
      var started = Number(element.getAttribute("data-elapsed-from"));
      if (started) {
        element.textContent = duration((now - started) / 1000);
      }
    });
  }

  function say(text) {
    if (!note) {
      note = document.createElement("span");
      note.className = "live-note";
      note.setAttribute("data-live-note", "");
      var header = document.querySelector("header");
      if (!header) {
        return;
      }
      header.appendChild(note);
    }
    note.textContent = text;
  }

  function atBottom(element) {
    return element.scrollTop + element.clientHeight >= element.scrollHeight - 4;
  }

  function followLogs(root, wasAtBottom) {
    root.querySelectorAll("pre.log").forEach(function (pre) {
      if (wasAtBottom) {
        pre.scrollTop = pre.scrollHeight;
      }
    });
  }

  function replaceBlock(old, fresh) {
    var logs = old.querySelectorAll ? old.querySelectorAll("pre.log") : [];
    var follow = logs.length === 0 || Array.prototype.every.call(logs, atBottom);
    var adopted = document.adoptNode(fresh);
    old.replaceWith(adopted);
    if (adopted.querySelectorAll) {
      followLogs(adopted, follow);
    }
  }

  function morph(old, fresh) {
    var focus = document.activeElement;
    var busy = focus && focus !== document.body && old.contains(focus);
    var before = Array.prototype.slice.call(old.children);
    var after = Array.prototype.slice.call(fresh.children);
    if (before.length !== after.length) {
      if (busy) {
        return false;
      }
      old.replaceChildren.apply(old, after.map(function (node) { return document.adoptNode(node); }));
      followLogs(old, true);
      return true;
    }
    for (var index = 0; index < before.length; index += 1) {
      if (!before[index].isEqualNode(after[index]) && !(busy && before[index].contains(focus))) {
        replaceBlock(before[index], after[index]);
      }
    }
    return true;
  }

  function refresh() {
    return fetch(window.location.href, {
      headers: { Accept: "text/html" },
      credentials: "same-origin",
      cache: "no-store"
    }).then(function (response) {
      if (!response.ok) {
        throw new Error("HTTP " + response.status);
      }
      return response.text();
    }).then(function (html) {
      var fresh = new DOMParser().parseFromString(html, "text/html");
      var main = document.querySelector("main");
      var freshMain = fresh.querySelector("main");
      var freshScript = fresh.querySelector("script[data-now-ms]");
      if (freshScript) {
        skew = Number(freshScript.getAttribute("data-now-ms")) - Date.now();
      }
      if (main && freshMain && morph(main, freshMain)) {
        document.title = fresh.title || document.title;
      }
      tick();
    });
  }

  function schedule() {
    window.setTimeout(poll, every * 1000);
  }

  function stamp() {
    var now = new Date();
    return two(now.getHours()) + ":" + two(now.getMinutes()) + ":" + two(now.getSeconds());
  }

  function poll() {
    if (document.hidden) {
      schedule();
      return;
    }
    var headers = { Accept: "application/json" };
    if (etag) {
      headers["If-None-Match"] = etag;
    }
    var stop = false;
    fetch(twin, { headers: headers, credentials: "same-origin", cache: "no-store" })
      .then(function (response) {
        if (response.status === 304) {
          return "unchanged";
        }
        if (response.status === 401 || response.status === 403 || response.status === 404) {
          stop = true;
          throw new Error("HTTP " + response.status);
        }
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        var tag = response.headers.get("ETag");
        if (tag && tag === etag) {
          return "unchanged";
        }
        etag = tag;
        return refresh().then(function () { return "updated"; });
      })
      .then(function (what) {
        say("live, every " + every + " s · " + what + " " + stamp());
        document.documentElement.setAttribute("data-live-polls", String(Number(document.documentElement.getAttribute("data-live-polls") || "0") + 1));
        schedule();
      }, function (error) {
        say(stop ? "live updates stopped (" + error.message + "): reload the page" : "live updates paused (" + error.message + ")");
        if (!stop) {
          schedule();
        }
      });
  }

  document.querySelectorAll("pre.log").forEach(function (pre) {
    pre.scrollTop = pre.scrollHeight;
  });
  tick();
  window.setInterval(tick, 1000);
  if (twin && every > 0) {
    say("live, every " + every + " s");
    schedule();
  } else if (twin) {
    say("live updates off ([aws_batch] view_refresh_seconds = 0)");
  }
}());
