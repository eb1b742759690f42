"""Inline style sheet and script of report.html (kept apart so the page logic stays short)."""

CSS = """
:root{--fg:#1d1d1f;--muted:#666;--line:#ddd;--bg:#fff;--accent:#4c72b0;--soft:#f6f7f9}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg);
 margin:0 auto;padding:1rem 1.5rem 4rem;max-width:1280px}
h1{font-size:1.5rem;margin:.5rem 0}h2{font-size:1.2rem;margin:2.2rem 0 .6rem;border-bottom:2px solid var(--line);
 padding-bottom:.2rem}h3{font-size:1rem;margin:1.2rem 0 .4rem}
nav{position:sticky;top:0;background:var(--bg);padding:.4rem 0;border-bottom:1px solid var(--line);z-index:2;
 font-size:.85rem;display:flex;flex-wrap:wrap;gap:.15rem .9rem}
nav a{color:var(--accent);text-decoration:none;white-space:nowrap}
.wrap{overflow-x:auto;max-width:100%}
table{border-collapse:collapse;margin:.4rem 0 1rem;font-size:.85rem}
th,td{border-bottom:1px solid var(--line);padding:.25rem .55rem;text-align:left;vertical-align:top}
th{background:var(--soft);position:relative}
table.sortable th{cursor:pointer;user-select:none}table.sortable th::after{content:" \\2195";color:#aaa}
th[aria-sort=ascending]::after{content:" \\2191"!important;color:var(--fg)}
th[aria-sort=descending]::after{content:" \\2193"!important;color:var(--fg)}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.nodata{color:var(--muted);font-style:italic;background:var(--soft);padding:.6rem .8rem;border-radius:4px}
.muted{color:var(--muted)}code{font-size:.85em;background:var(--soft);padding:0 .2em;border-radius:3px}
.gate{padding:.5rem .8rem;border-radius:4px;background:var(--soft)}.gate.regression,.gate.unhealthy{background:#fde2e1}
.gate.pass{background:#e3f4e1}
svg.chart{max-width:100%;height:auto;display:block;margin:.3rem 0 1rem}
.charts{display:flex;flex-wrap:wrap;gap:0 1.5rem;align-items:flex-start}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(270px,1fr));gap:.8rem}
.card{border:1px solid var(--line);border-radius:6px;padding:.6rem .8rem}.card h3{margin:0 0 .3rem}
.card dl{display:grid;grid-template-columns:auto 1fr;gap:.1rem .7rem;margin:0;font-size:.85rem}
.card dt{color:var(--muted)}.card dd{margin:0}
.text{white-space:pre-wrap;max-width:60ch;font-size:.82rem}
details{margin:.2rem 0}summary{cursor:pointer;color:var(--accent)}
.kv td:first-child{color:var(--muted)}
section{scroll-margin-top:3.5rem}
table.heatmap td.heat{text-align:center;min-width:8.5rem;border:1px solid #fff}
table.heatmap td.heat .ci{font-size:.75rem;opacity:.85}table.heatmap td.heat .n{font-size:.72rem;opacity:.8}
table.heatmap td.empty{background:#f3f3f3;color:#999}
"""

# Click a header to sort; numeric cells carry data-v so "0.35 [0.30, 0.41]" sorts by 0.35.
JS = """
document.querySelectorAll('table.sortable').forEach(function(t){
  t.querySelectorAll('th').forEach(function(th,i){th.addEventListener('click',function(){
    var dir=th.getAttribute('aria-sort')==='ascending'?'descending':'ascending';
    t.querySelectorAll('th').forEach(function(h){h.removeAttribute('aria-sort')});th.setAttribute('aria-sort',dir);
    var body=t.tBodies[0],rows=Array.prototype.slice.call(body.rows);
    function key(r){var c=r.cells[i];if(!c)return '';var v=c.getAttribute('data-v');
      if(v!==null&&v!==''&&!isNaN(+v))return +v;return c.textContent.trim().toLowerCase();}
    rows.sort(function(a,b){var x=key(a),y=key(b);if(typeof x!==typeof y){x=String(x);y=String(y);}
      return (x<y?-1:x>y?1:0)*(dir==='ascending'?1:-1);});
    rows.forEach(function(r){body.appendChild(r)});});});});
"""
