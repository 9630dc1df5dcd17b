// Sorting and filtering of the class table of results/index.html, written
// by lab grade and lab report (package classreport). The page works
// without this script: every row is shown, in name order, and the
// controls stay hidden.
(function () {
	'use strict';

	function init() {
		var table = document.getElementById('class');
		var controls = document.getElementById('controls');
		if (!table || !controls) {
			return;
		}
		var tbody = table.tBodies[0];
		var rows = Array.prototype.slice.call(tbody.rows);
		var nameBox = document.getElementById('f-name');
		var checkBox = document.getElementById('f-check');
		var incompleteBox = document.getElementById('f-incomplete');
		var status = document.getElementById('f-status');
		var sortKey = 'name';
		var ascending = true;

		function filter() {
			var needle = nameBox.value.trim().toLowerCase();
			var failed = checkBox.value;
			var shown = 0;
			rows.forEach(function (tr) {
				var ok = (needle === '' || tr.dataset.name.indexOf(needle) >= 0) &&
					(failed === '' || (' ' + tr.dataset.failed + ' ').indexOf(' ' + failed + ' ') >= 0) &&
					(!incompleteBox.checked || tr.dataset.incomplete === 'true');
				if (tr.hidden === ok) {
					tr.hidden = !ok; // only a change costs a layout
				}
				if (ok) {
					shown++;
				}
			});
			status.textContent = 'Showing ' + shown + ' of ' + rows.length + ' submissions, sorted by ' +
				sortKey + (ascending ? ' (ascending).' : ' (descending).');
		}

		function byName(a, b) {
			return a.dataset.name < b.dataset.name ? -1 : a.dataset.name > b.dataset.name ? 1 : 0;
		}

		function sort(key) {
			if (key === sortKey) {
				ascending = !ascending;
			} else {
				sortKey = key;
				ascending = key === 'name';
			}
			rows.sort(function (a, b) {
				var d = key === 'total' ? Number(a.dataset.total) - Number(b.dataset.total) : byName(a, b);
				if (!ascending) {
					d = -d;
				}
				return d !== 0 ? d : byName(a, b);
			});
			// One move of all the rows, so the table is laid out once.
			var sorted = document.createDocumentFragment();
			rows.forEach(function (tr) {
				sorted.appendChild(tr);
			});
			tbody.appendChild(sorted);
			['name', 'total'].forEach(function (k) {
				var th = document.getElementById('col-' + k);
				var button = document.getElementById('sort-' + k);
				if (k === sortKey) {
					th.setAttribute('aria-sort', ascending ? 'ascending' : 'descending');
					button.setAttribute('aria-pressed', 'true');
				} else {
					th.removeAttribute('aria-sort');
					button.setAttribute('aria-pressed', 'false');
				}
			});
			filter();
		}

		nameBox.addEventListener('input', filter);
		checkBox.addEventListener('change', filter);
		incompleteBox.addEventListener('change', filter);
		Array.prototype.forEach.call(controls.querySelectorAll('button[data-sort]'), function (button) {
			button.addEventListener('click', function () {
				sort(button.dataset.sort);
			});
		});
		document.getElementById('sort-name').setAttribute('aria-pressed', 'true');
		document.getElementById('sort-total').setAttribute('aria-pressed', 'false');
		controls.hidden = false;
		filter();
	}

	if (document.readyState === 'loading') {
		document.addEventListener('DOMContentLoaded', init);
	} else {
		init();
	}
}());
