// Follows the journal of a run that runs: asks for the lines after the
// last one shown, every two seconds, until the run has ended. The page
// shows the lines that were there without it.
"use strict";
(function () {
	const table = document.getElementById("journal");
	if (!table || !table.dataset.follow) {
		return;
	}
	let after = table.dataset.after || "0";
	const body = table.tBodies[0];
	function add(line) {
		const tr = document.createElement("tr");
		tr.className = line.priority;
		for (const text of [line.time, line.ident + "[" + line.pid + "]", line.message]) {
			const td = document.createElement("td");
			td.textContent = text;
			tr.appendChild(td);
		}
		body.appendChild(tr);
		after = String(line.cursor);
	}
	async function poll() {
		try {
			const resp = await fetch(table.dataset.follow + "?after=" + encodeURIComponent(after), {headers: {"Accept": "application/json"}});
			if (!resp.ok) {
				return;
			}
			const data = await resp.json();
			(data.lines || []).forEach(add);
			if (data.ended) {
				location.reload();
				return;
			}
		} catch (e) {
			return; // the daemon gone: the page stays as it is
		}
		setTimeout(poll, 2000);
	}
	setTimeout(poll, 2000);
})();
