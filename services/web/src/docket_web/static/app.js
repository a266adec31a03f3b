/* Docket's progressive enhancements: live status badges and uploads with progress bars.
 * Every page works without this file; it only adds what needs a script. No framework, no inline code
 * (the Content-Security-Policy allows scripts from this site's own files only). */
(function () {
  "use strict";

  var FINAL = { ready: true, failed: true };
  var LABELS = { pending: "Pending", processing: "Processing", ready: "Ready", failed: "Failed" };

  /* ---- screen-reader announcements ------------------------------------------------------------ */
  function announce(text) {
    var region = document.getElementById("live-announcer");
    if (!region) { return; }
    var line = document.createElement("p");
    line.textContent = text;
    region.appendChild(line);
    while (region.childNodes.length > 5) { region.removeChild(region.firstChild); }
  }

  /* ---- live status badges ---------------------------------------------------------------------- */
  var badgesById = {};
  var stream = null;
  var reopenTimer = null;

  function setBadge(badge, status, reason) {
    badge.className = "badge badge-" + status;
    badge.setAttribute("data-status", status);
    badge.textContent = LABELS[status] || status;
    if (reason) { badge.setAttribute("title", reason); }
  }

  function pendingIds() {
    return Object.keys(badgesById).filter(function (id) {
      return badgesById[id].some(function (badge) { return !FINAL[badge.getAttribute("data-status")]; });
    });
  }

  function onStatus(event) {
    var data;
    try { data = JSON.parse(event.data); } catch (err) { return; }
    var badges = badgesById[data.id] || [];
    var changed = false;
    badges.forEach(function (badge) {
      if (badge.getAttribute("data-status") !== data.status) {
        setBadge(badge, data.status, data.failure_reason);
        changed = true;
      }
    });
    if (changed && badges.length) {
      var title = badges[0].getAttribute("data-title") || "A document";
      var text = title + " is now " + (LABELS[data.status] || data.status).toLowerCase();
      announce(data.status === "failed" && data.failure_reason ? text + ": " + data.failure_reason : text + ".");
    }
    if (FINAL[data.status]) {
      var note = document.querySelector('[data-ready-note="' + data.id + '"]');
      if (note) { note.hidden = false; }
    }
  }

  function openStream() {
    reopenTimer = null;
    if (stream) { stream.close(); stream = null; }
    var ids = pendingIds();
    if (!ids.length || !window.EventSource) { return; }
    var query = ids.slice(0, 50).map(function (id) { return "id=" + encodeURIComponent(id); }).join("&");
    stream = new EventSource("/events?" + query);
    stream.addEventListener("status", onStatus);
    stream.addEventListener("end", function () {
      if (stream) { stream.close(); stream = null; }
      if (pendingIds().length) { scheduleStream(); }
    });
  }

  function scheduleStream() {
    if (reopenTimer) { window.clearTimeout(reopenTimer); }
    reopenTimer = window.setTimeout(openStream, 150);
  }

  function watch(badge) {
    var id = badge.getAttribute("data-doc-id");
    if (!id) { return; }
    (badgesById[id] = badgesById[id] || []).push(badge);
    if (!FINAL[badge.getAttribute("data-status")]) { scheduleStream(); }
  }

  /* ---- uploads ----------------------------------------------------------------------------------- */
  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text) { node.textContent = text; }
    return node;
  }

  function link(href, text) {
    var a = el("a", "", text);
    a.href = href;
    return a;
  }

  function humanSize(bytes) {
    if (bytes < 1024) { return bytes + " bytes"; }
    if (bytes < 1024 * 1024) { return (bytes / 1024).toFixed(1) + " KB"; }
    return (bytes / (1024 * 1024)).toFixed(1) + " MB";
  }

  function setupUpload(form) {
    var input = form.querySelector('input[type="file"]');
    var zone = form.querySelector("[data-dropzone]");
    var section = document.getElementById("upload-results");
    var list = document.getElementById("upload-list");
    var tokenMeta = document.querySelector('meta[name="csrf-token"]');
    var token = tokenMeta ? tokenMeta.getAttribute("content") : "";
    var maxBytes = parseInt(form.getAttribute("data-max-bytes"), 10) || Infinity;
    var maxSize = form.getAttribute("data-max-size") || "";
    var queue = [];
    var running = 0;

    function next() {
      while (running < 3 && queue.length) {
        running += 1;
        queue.shift()();
      }
    }

    function finish(item, ok) {
      item.node.classList.add(ok ? "is-ok" : "is-failed");
      running -= 1;
      next();
    }

    function fail(item, message, existingUrl) {
      item.status.textContent = message;
      item.status.className = "upload-status field-error";
      if (existingUrl) {
        item.status.appendChild(document.createTextNode(" "));
        item.status.appendChild(link(existingUrl, "Open the existing document"));
      }
      announce(item.file.name + ": " + message);
      finish(item, false);
    }

    function succeed(item, body) {
      var title = body.title || item.file.name;
      item.progress.value = 100;
      item.percent.textContent = "100 %";
      item.status.textContent = "Uploaded. ";
      item.status.appendChild(link(body.document_url, "Open " + title));
      var badge = el("span", "", "");
      badge.setAttribute("data-doc-id", body.document_id);
      badge.setAttribute("data-title", title);
      setBadge(badge, body.document_status || "pending");
      item.row.appendChild(badge);
      announce(item.file.name + " uploaded.");
      watch(badge);
      finish(item, true);
    }

    function send(item) {
      var file = item.file;
      if (file.size > maxBytes) {
        item.progressRow.hidden = true;
        fail(item, "This file is larger than the " + maxSize + " limit.");
        return;
      }
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.getAttribute("action"));
      xhr.setRequestHeader("X-CSRFToken", token);
      xhr.setRequestHeader("Accept", "application/json");
      xhr.upload.addEventListener("progress", function (event) {
        if (!event.lengthComputable) { return; }
        var percent = Math.min(100, Math.round((event.loaded / event.total) * 100));
        item.progress.value = percent;
        item.percent.textContent = percent + " %";
      });
      xhr.upload.addEventListener("load", function () {
        item.progress.value = 100;
        item.percent.textContent = "100 %";
        item.status.textContent = "Sent; saving…";
      });
      xhr.addEventListener("load", function () {
        var body = {};
        try { body = JSON.parse(xhr.responseText); } catch (err) { body = {}; }
        if (xhr.status === 201) { succeed(item, body); return; }
        if (xhr.status === 401) { fail(item, "Your session has ended. Sign in again, then upload this file."); return; }
        if (xhr.status === 403) { fail(item, "This page has expired. Reload it and try again."); return; }
        if (xhr.status === 503) { fail(item, "Docket is temporarily unavailable. Try again shortly."); return; }
        fail(item, body.message || body.detail || "The upload failed.", body.existing_url);
      });
      xhr.addEventListener("error", function () { fail(item, "The upload failed: the connection was lost."); });
      var data = new FormData();
      data.append("file", file, file.name);
      xhr.send(data);
    }

    function add(file) {
      var node = el("li", "upload-item");
      var row = el("div", "upload-row");
      row.appendChild(el("span", "upload-name", file.name));
      row.appendChild(el("span", "upload-size", humanSize(file.size)));
      var progressRow = el("div", "progress-row");
      var progress = el("progress");
      progress.max = 100;
      progress.value = 0;
      progress.setAttribute("aria-label", "Upload progress of " + file.name);
      var percent = el("span", "", "0 %");
      percent.setAttribute("aria-hidden", "true");
      progressRow.appendChild(progress);
      progressRow.appendChild(percent);
      var status = el("p", "upload-status", "Waiting…");
      node.appendChild(row);
      node.appendChild(progressRow);
      node.appendChild(status);
      list.insertBefore(node, list.firstChild);
      var item = { file: file, node: node, row: row, progressRow: progressRow, progress: progress, percent: percent, status: status };
      queue.push(function () { item.status.textContent = "Uploading…"; send(item); });
    }

    function uploadAll(files) {
      if (!files || !files.length) {
        announce("Choose one or more files to upload.");
        return;
      }
      section.hidden = false;
      Array.prototype.forEach.call(files, add);
      announce("Uploading " + files.length + (files.length === 1 ? " file." : " files."));
      next();
    }

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      uploadAll(input.files);
      input.value = "";
    });
    if (zone) {
      ["dragenter", "dragover"].forEach(function (name) {
        zone.addEventListener(name, function (event) {
          event.preventDefault();
          zone.classList.add("is-dragging");
        });
      });
      ["dragleave", "dragend"].forEach(function (name) {
        zone.addEventListener(name, function () { zone.classList.remove("is-dragging"); });
      });
      zone.addEventListener("drop", function (event) {
        event.preventDefault();
        zone.classList.remove("is-dragging");
        if (event.dataTransfer) { uploadAll(event.dataTransfer.files); }
      });
    }
  }

  /* ---- the list follows new documents (another member's uploads) ------------------------------------ */
  // one small call per interval (the newest document's id); the list is re-read only when that changes
  var LIST_POLL_MS = 10000;

  function docIds(root) {
    return Array.prototype.map.call(root.querySelectorAll("[data-doc-id]"), function (badge) {
      return badge.getAttribute("data-doc-id");
    });
  }

  function replaceList(region) {
    return window.fetch(window.location.href, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (!html) { return; }
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("document-list");
        if (!fresh) { return; }
        region.replaceChildren.apply(region, Array.prototype.map.call(fresh.childNodes, function (node) {
          return document.importNode(node, true);
        }));
        badgesById = {};
        Array.prototype.forEach.call(document.querySelectorAll("[data-doc-id]"), watch);
        announce("New documents are in the list.");
      });
  }

  function followList(region) {
    var url = region.getAttribute("data-live-list");
    function poll() {
      if (document.visibilityState === "hidden" || !window.fetch || !window.DOMParser) { return; }
      window.fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (newest) {
          if (!newest || !newest.id || docIds(region)[0] === newest.id) { return null; }
          return replaceList(region);
        })
        .catch(function () { /* the next poll tries again */ });
    }
    window.setInterval(poll, LIST_POLL_MS);
  }

  /* ---- small helpers: the workspace switcher and copy buttons -------------------------------------- */
  function setupSwitcher(select) {
    select.addEventListener("change", function () { if (select.form) { select.form.submit(); } });
  }

  function setupCopy(button) {
    var source = document.getElementById(button.getAttribute("data-copy"));
    if (!source || !navigator.clipboard) { return; }
    button.hidden = false;
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(source.value).then(function () {
        announce("Copied.");
        button.textContent = "Copied";
      }, function () { source.select(); });
    });
  }

  function start() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-doc-id]"), watch);
    Array.prototype.forEach.call(document.querySelectorAll("select[data-autosubmit]"), setupSwitcher);
    Array.prototype.forEach.call(document.querySelectorAll("button[data-copy]"), setupCopy);
    var list = document.querySelector("[data-live-list]");
    if (list) { followList(list); }
    var form = document.getElementById("upload-form");
    if (form && window.FormData && window.XMLHttpRequest) { setupUpload(form); }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
