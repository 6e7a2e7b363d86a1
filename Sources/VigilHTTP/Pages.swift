import Foundation
import VigilPipeline
import VigilSQLite
import VigilStore

/// The two HTML pages, rendered on the server: no framework, no CDN (the server has no internet),
/// a little plain JavaScript on the status page only.
enum Pages {
    // MARK: Text helpers

    /// `text` safe inside HTML text and attribute values.
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }

    /// A file or directory name of letters, digits, `-` and `_` only (no `.`, `/` or `%`), 1...128 long.
    static func isSafeName(_ name: String) -> Bool {
        (1...128).contains(name.utf8.count)
            && name.utf8.allSatisfy { $0 < 128 && (isalnum(Int32($0)) != 0 || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_")) }
    }

    private static let style = """
        :root{color-scheme:light dark;--good:#1b7f3b;--warn:#9a6100;--bad:#b3261e;--idle:#5f6368;font-family:system-ui,sans-serif}
        body{margin:0 auto;max-width:72rem;padding:1rem;line-height:1.4}
        h1{font-size:1.5rem;margin:.2rem 0}h2{font-size:1.2rem}
        a:focus,select:focus,.tile:focus,button:focus{outline:3px solid #1a73e8;outline-offset:2px}
        table{border-collapse:collapse;width:100%;font-size:.95rem}th,td{border-bottom:1px solid #8884;padding:.3rem;text-align:left;vertical-align:top}
        .tiles{list-style:none;padding:0;display:grid;grid-template-columns:repeat(auto-fill,minmax(15rem,1fr));gap:.8rem}
        .tile{border:2px solid var(--idle);border-left-width:.6rem;border-radius:.4rem;padding:.6rem}
        .tile h3{margin:0;font-size:1.05rem}.tile .state{font-weight:700;margin:.2rem 0}.tile p{margin:.2rem 0}
        .good{border-color:var(--good)}.good .state{color:var(--good)}.warn{border-color:var(--warn)}.warn .state{color:var(--warn)}
        .bad{border-color:var(--bad)}.bad .state{color:var(--bad)}.idle .state{color:var(--idle)}
        .tile img{max-width:100%;height:auto;display:block;margin-top:.4rem}
        #feed{padding-left:1.2rem;max-height:28rem;overflow:auto}#feed li{margin:.15rem 0}
        label{margin-right:1rem}select{font-size:1rem;padding:.2rem}
        svg{width:100%;height:auto;max-height:32rem;border:1px solid #8884;background:#8881}
        """

    private static func page(title: String, body: String, script: String = "") -> String {
        """
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
        <title>\(escape(title))</title><style>\(style)</style></head>
        <body>
        \(body)
        \(script.isEmpty ? "" : "<script>\n\(script)\n</script>")
        </body></html>

        """
    }

    // MARK: Status page

    /// `GET /`: a tile per camera (state in words and colour, time in that state, latest snapshot) and
    /// the live alert feed, filterable by camera and kind.
    static func status(cameras: [CameraView], kinds: [String], canLogOut: Bool) -> String {
        let counts = Dictionary(grouping: cameras, by: \.stateText).map { "\($0.value.count) \($0.key.lowercased())" }.sorted()
        let tiles = cameras.map(tile).joined(separator: "\n")
        let cameraOptions = cameras.map { "<option value=\"\(escape($0.id))\">\(escape($0.name))</option>" }.joined()
        let kindOptions = kinds.map { "<option value=\"\(escape($0))\">\(escape($0.replacingOccurrences(of: "_", with: " ")))</option>" }.joined()
        let body = """
            <header><h1>Vigil status</h1><p id="summary">\(cameras.count) cameras: \(escape(counts.joined(separator: ", ")))</p>
            <p><a href="/register">Public camera register</a> · <a href="/metrics">Metrics</a>\(canLogOut ? logOut : "")</p></header>
            <main>
            <section aria-labelledby="cameras-heading"><h2 id="cameras-heading">Cameras</h2>
            <ul class="tiles" id="tiles">
            \(tiles)
            </ul></section>
            <section aria-labelledby="feed-heading"><h2 id="feed-heading">Live alerts</h2>
            <form id="filters" onsubmit="return false">
            <label>Camera <select id="filter-camera"><option value="">all</option>\(cameraOptions)</select></label>
            <label>Kind <select id="filter-kind"><option value="">all</option>\(kindOptions)</select></label>
            </form>
            <p id="feed-status" role="status">connecting to the alert stream…</p>
            <ol id="feed" aria-live="polite" reversed></ol>
            </section></main>
            """
        return page(title: "Vigil status", body: body, script: statusScript)
    }

    private static let logOut = """
         · <form method="post" action="/logout" style="display:inline"><button type="submit">Log out</button></form>
        """

    // MARK: Login page

    /// `GET /login`: one field for the token; after a wrong one (`failed`) it says so, never what was sent.
    static func login(failed: Bool) -> String {
        let body = """
            <header><h1>Vigil status: log in</h1></header>
            <main>
            \(failed ? "<p role=\"alert\" id=\"login-failed\">That token is not valid.</p>" : "")
            <form method="post" action="/login">
            <p><label>Access token (the first line of http.token_file)<br>
            <input type="password" name="token" autocomplete="current-password" required autofocus size="40"></label></p>
            <p><button type="submit">Log in</button></p>
            </form>
            <p>The session lasts \(Sessions.lifetime / 3600) hours. <a href="/register">Public camera register</a></p>
            </main>
            """
        return page(title: "Vigil: log in", body: body)
    }

    private static func tile(_ camera: CameraView) -> String {
        let since = camera.since.map { String(Int64($0.timeIntervalSince1970 * 1000)) } ?? ""
        let image = camera.latestSnapshot.map {
            "<img src=\"\(escape($0))\" alt=\"latest event snapshot of \(escape(camera.name))\" loading=\"lazy\">"
        } ?? "<p class=\"nosnap\">no snapshot yet</p>"
        return """
            <li class="tile \(camera.tone)" id="camera-\(escape(camera.id))" data-camera="\(escape(camera.id))" \
            data-state="\(escape(camera.state))" data-since="\(since)" tabindex="0">
            <h3>\(escape(camera.name)) <small>(\(escape(camera.id)))</small></h3>
            <p class="state">\(escape(camera.stateText))</p>
            <p class="for">for <span class="age">\(camera.secondsInState.map(ageText) ?? "-")</span></p>
            <p class="availability">Available <span class="today">\(percent(camera.availability.today.available))</span> today, \
            <span class="week">\(percent(camera.availability.sevenDays.available))</span> over 7 days</p>
            \(image)
            </li>
            """
    }

    /// `99.2%`, or `-` for a camera not watched in that time (the page's script writes the same).
    static func percent(_ share: Double?) -> String {
        share.map { String(format: "%.1f%%", ($0 * 1000).rounded(.down) / 10) } ?? "-"
    }

    /// `3 d 4 h`, `2 h 5 min`, `4 min 12 s`, `9 s`.
    static func ageText(_ seconds: Double) -> String {
        let total = Int(max(0, seconds))
        let (days, hours, minutes, rest) = (total / 86_400, total / 3600 % 24, total / 60 % 60, total % 60)
        if days > 0 { return "\(days) d \(hours) h" }
        if hours > 0 { return "\(hours) h \(minutes) min" }
        if minutes > 0 { return "\(minutes) min \(rest) s" }
        return "\(rest) s"
    }

    /// Keeps the ages ticking, refreshes the tiles every 5 s and shows the alert stream as it comes.
    private static let statusScript = """
        "use strict";
        const tones = \(toneTable);
        function age(ms) {
          const t = Math.max(0, Math.floor(ms / 1000)), d = Math.floor(t / 86400), h = Math.floor(t / 3600) % 24,
                m = Math.floor(t / 60) % 60, s = t % 60;
          return d > 0 ? d + " d " + h + " h" : h > 0 ? h + " h " + m + " min" : m > 0 ? m + " min " + s + " s" : s + " s";
        }
        function percent(share) { return share === null ? "-" : (Math.floor(share * 1000) / 10).toFixed(1) + "%"; }
        function tick() {
          for (const tile of document.querySelectorAll(".tile")) {
            const since = Number(tile.dataset.since);
            if (since) tile.querySelector(".age").textContent = age(Date.now() - since);
          }
        }
        async function refresh() {
          try {
            const response = await fetch("/api/v1/cameras", {credentials: "same-origin"});
            if (!response.ok) return;
            const cameras = (await response.json()).cameras, counts = {};
            for (const camera of cameras) counts[camera.state_text.toLowerCase()] = (counts[camera.state_text.toLowerCase()] || 0) + 1;
            document.getElementById("summary").textContent = cameras.length + " cameras: "
                + Object.keys(counts).map(text => counts[text] + " " + text).sort().join(", ");
            for (const camera of cameras) {
              const tile = document.getElementById("camera-" + camera.id);
              if (!tile) continue;
              tile.dataset.state = camera.state;
              tile.dataset.since = camera.since ? Date.parse(camera.since) : "";
              tile.className = "tile " + (tones[camera.state] || "idle");
              tile.querySelector(".state").textContent = camera.state_text;
              tile.querySelector(".availability .today").textContent = percent(camera.availability.today.available);
              tile.querySelector(".availability .week").textContent = percent(camera.availability.seven_days.available);
              if (camera.latest_snapshot) {
                let image = tile.querySelector("img");
                if (!image) {
                  image = document.createElement("img");
                  image.alt = "latest event snapshot of " + camera.name;
                  const none = tile.querySelector(".nosnap");
                  if (none) none.remove();
                  tile.appendChild(image);
                }
                if (image.getAttribute("src") !== camera.latest_snapshot) image.src = camera.latest_snapshot;
              }
            }
            tick();
          } catch (error) {}
        }
        const feed = document.getElementById("feed"), status = document.getElementById("feed-status");
        const cameraFilter = document.getElementById("filter-camera"), kindFilter = document.getElementById("filter-kind");
        function shown(item) {
          return (!cameraFilter.value || item.dataset.camera === cameraFilter.value)
              && (!kindFilter.value || item.dataset.kind === kindFilter.value);
        }
        function applyFilters() { for (const item of feed.children) item.hidden = !shown(item); }
        cameraFilter.addEventListener("change", applyFilters);
        kindFilter.addEventListener("change", applyFilters);
        const stream = new EventSource("/api/v1/alerts/stream");
        stream.onopen = () => { status.textContent = "live: new alerts appear here as they are raised"; };
        stream.onerror = () => { status.textContent = "alert stream interrupted, reconnecting…"; };
        stream.onmessage = (message) => {
          const alert = JSON.parse(message.data);
          const item = document.createElement("li");
          item.className = "alert";
          item.dataset.camera = alert.camera;
          item.dataset.kind = alert.kind;
          item.dataset.id = alert.id;
          const time = document.createElement("time");
          time.dateTime = alert.time;
          time.textContent = new Date(alert.time).toLocaleTimeString();
          item.append(time, " " + alert.camera + ": " + alert.kind.replace(/_/g, " ")
                      + (alert.zones && alert.zones.length ? " in " + alert.zones.join(", ") : ""));
          item.hidden = !shown(item);
          feed.prepend(item);
          while (feed.children.length > 200) feed.lastElementChild.remove();
        };
        tick();
        setInterval(tick, 1000);
        setInterval(refresh, 5000);
        """

    private static var toneTable: String {
        "{" + CameraView.states.map { "\"\($0.state)\":\"\($0.tone)\"" }.joined(separator: ",") + "}"
    }

    // MARK: Register page

    private static func number(_ value: Double) -> String { String(format: "%.1f", value) }

    /// `GET /register`: the public cameras as a table and an SVG map drawn from their coordinates.
    static func register(_ register: PublicRegister) -> String {
        let entries = register.entries
        let rows = entries.map { entry in
            let cells = [entry.id, entry.name, entry.municipality, entry.address ?? "", entry.operatorName, entry.purpose,
                         entry.legalBasis ?? "", entry.retentionDays.map { "\($0) days" } ?? "",
                         String(format: "%.5f, %.5f", entry.latitude, entry.longitude)]
            return "<tr>" + cells.map { "<td>\(escape($0))</td>" }.joined() + "</tr>"
        }.joined(separator: "\n")
        let body = """
            <header><h1>Public camera register</h1>
            <p>\(entries.count) public cameras. Download: <a href="/register.json">JSON</a> ·
            <a href="/register.csv">CSV</a> · <a href="/register.geojson">GeoJSON</a></p></header>
            <main>
            <section aria-labelledby="map-heading"><h2 id="map-heading">Map</h2>
            \(map(entries))
            </section>
            <section aria-labelledby="table-heading"><h2 id="table-heading">Cameras</h2>
            <div style="overflow-x:auto"><table id="register">
            <thead><tr><th>Id</th><th>Name</th><th>Municipality</th><th>Address</th><th>Operator</th><th>Purpose</th>
            <th>Legal basis</th><th>Retention</th><th>Position</th></tr></thead>
            <tbody>
            \(rows)
            </tbody></table></div></section></main>
            """
        return page(title: "Public camera register", body: body)
    }

    /// The cameras as dots on an equirectangular projection of their bounding box (longitude scaled by
    /// the cosine of the mean latitude, so that distances look right); no tiles, no network.
    static func map(_ entries: [PublicRegister.Entry]) -> String {
        let width = 800.0, height = 500.0, margin = 40.0
        guard !entries.isEmpty else {
            return "<svg viewBox=\"0 0 \(Int(width)) 120\" role=\"img\" aria-label=\"no public cameras\">"
                + "<text x=\"20\" y=\"60\">No public cameras</text></svg>"
        }
        let latitudes = entries.map(\.latitude), longitudes = entries.map(\.longitude)
        let meanLatitude = latitudes.reduce(0, +) / Double(latitudes.count)
        let scaleX = cos(meanLatitude * .pi / 180)
        let spanX = max((longitudes.max()! - longitudes.min()!) * scaleX, 0.0005)
        let spanY = max(latitudes.max()! - latitudes.min()!, 0.0005)
        let scale = min((width - 2 * margin) / spanX, (height - 2 * margin) / spanY)
        let midX = (longitudes.max()! + longitudes.min()!) / 2 * scaleX, midY = (latitudes.max()! + latitudes.min()!) / 2
        let dots = entries.map { entry in
            let x = width / 2 + (entry.longitude * scaleX - midX) * scale
            let y = height / 2 - (entry.latitude - midY) * scale
            let label = escape("\(entry.name) (\(entry.id)), \(entry.address ?? entry.municipality)")
            return "<g class=\"camera\"><circle cx=\"\(number(x))\" cy=\"\(number(y))\" r=\"7\" fill=\"#b3261e\" "
                + "stroke=\"#fff\" stroke-width=\"2\"><title>\(label)</title></circle>"
                + "<text x=\"\(number(x + 10))\" y=\"\(number(y + 4))\" font-size=\"13\">\(escape(entry.name))</text></g>"
        }.joined(separator: "\n")
        return """
            <svg viewBox="0 0 \(Int(width)) \(Int(height))" role="img" aria-label="map of the \(entries.count) public cameras" \
            xmlns="http://www.w3.org/2000/svg">
            \(dots)
            </svg>
            """
    }
}
