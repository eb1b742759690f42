// The report's item browser (judge/report/browser.py): reads the inline JSON blob, filters and sorts
// in memory, and draws a hundred rows at a time and an item's detail only when it is opened. Every
// element is built with DOM calls and text nodes, never HTML strings, so dataset text is never
// parsed as markup.
(function(){
  var holder = document.getElementById('ib-data'), root = document.getElementById('ib');
  if (!holder || !root) return;
  var D = JSON.parse(holder.textContent), PAGE = 100;
  var COLOURS = ['#fde68a','#bfdbfe','#bbf7d0','#fecaca','#ddd6fe','#fed7aa','#fbcfe8','#cbd5e1'];
  function h(tag, props, kids) {
    var e = document.createElement(tag);
    if (props) for (var k in props) {
      if (k === 'text') e.textContent = props[k]; else if (k === 'cls') e.className = props[k];
      else if (k === 'on') for (var ev in props.on) e.addEventListener(ev, props.on[ev]);
      else e.setAttribute(k, props[k]);
    }
    (kids || []).forEach(function(c){ if (c != null) e.appendChild(typeof c === 'string' ? document.createTextNode(c) : c); });
    return e;
  }
  function f2(x){ return x == null ? '\u2013' : Number(x).toFixed(2); }
  function colour(j){ return COLOURS[j % COLOURS.length]; }
  // Row layouts (judge/report/browser.py): an item [id, task, dimension, model, source, reference,
  // response, gold, meta]; a unit [item, rubric, panel, range, valid judges, verdicts, judge scores];
  // a verdict [judge, repeat, status, score, severity, rationale, fields, flag, quotes]; a quote
  // [side (0 source, 1 response), text (0 source, 1 reference, 2 response; null: not found), spans, quote].
  var I = {id: 0, task: 1, dim: 2, model: 3, src: 4, ref: 5, resp: 6, gold: 7, meta: 8};
  var V = {j: 0, k: 1, st: 2, s: 3, sev: 4, why: 5, f: 6, flag: 7, q: 8};
  var TEXTS = ['source', 'reference', 'response'];
  var units = D.units;
  units.forEach(function(u){
    u.st = {}; u.jd = {}; u.fl = false;
    u[5].forEach(function(v){ u.st[v[V.st]] = 1; u.jd[v[V.j]] = 1; if (v[V.flag]) u.fl = true; });
  });
  function distinct(pick){ var s = {}; units.forEach(function(u){ pick(u).forEach(function(x){ s[x] = 1; }); });
    return Object.keys(s).sort(); }
  var S = {mechanism:'', rubric:'', dimension:'', model:'', judge:'', status:'', dispute:'', flag:false, q:'',
           sort:'range', shown:PAGE};
  var choices = {
    mechanism: distinct(function(u){ return [D.rubrics[u[1]].mechanism]; }),
    rubric: distinct(function(u){ return [D.rubrics[u[1]].ref]; }),
    dimension: distinct(function(u){ return [D.items[u[0]][I.dim]]; }),
    model: distinct(function(u){ return [D.items[u[0]][I.model]]; }),
    judge: D.judges.slice(),
    status: distinct(function(u){ return Object.keys(u.st); })
  };
  var search = null;  // lower-cased text per unit, built on the first search
  function haystack(i){
    if (!search) search = [];
    if (search[i] == null) {
      var u = units[i], it = D.items[u[0]];
      var words = [it[I.id], it[I.src], it[I.ref] || '', it[I.resp]];
      search[i] = words.concat(u[5].map(function(v){ return v[V.why]; })).join('\n').toLowerCase();
    }
    return search[i];
  }
  function keep(u, i){
    var it = D.items[u[0]], r = D.rubrics[u[1]];
    if (S.mechanism && r.mechanism !== S.mechanism) return false;
    if (S.rubric && r.ref !== S.rubric) return false;
    if (S.dimension && it[I.dim] !== S.dimension) return false;
    if (S.model && it[I.model] !== S.model) return false;
    if (S.judge && !u.jd[D.judges.indexOf(S.judge)]) return false;
    if (S.status && !u.st[S.status]) return false;
    if (S.flag && !u.fl) return false;
    if (S.dispute === 'disputed' && !(u[3] > 0)) return false;
    if (S.dispute && S.dispute !== 'disputed' && !(u[3] >= parseFloat(S.dispute))) return false;
    if (S.dispute === 'agreed' && !(u[3] === 0)) return false;
    if (S.q) { var words = S.q.toLowerCase().split(/\s+/).filter(Boolean), text = haystack(i);
      for (var w = 0; w < words.length; w++) if (text.indexOf(words[w]) < 0) return false; }
    return true;
  }
  function order(a, b){
    var ua = units[a], ub = units[b];
    function desc(x, y){ return (y == null ? -1 : y) - (x == null ? -1 : x); }
    if (S.sort === 'range') return desc(ua[3], ub[3]) || desc(ua[2], ub[2]) || a - b;
    if (S.sort === 'panel') return desc(ua[2], ub[2]) || a - b;
    if (S.sort === 'panel-asc') return -desc(ua[2], ub[2]) || a - b;
    var ia = D.items[ua[0]][I.id], ib = D.items[ub[0]][I.id];
    return ia < ib ? -1 : ia > ib ? 1 : ua[1] - ub[1];
  }
  function goldText(it, mechanism){
    var gold = it[I.gold], own = gold[mechanism], others = [];
    for (var k in gold) if (k.indexOf(mechanism + '__') === 0) others.push(k.slice(mechanism.length + 2) + ' ' + gold[k]);
    if (own == null && !others.length) return '\u2013';
    var shown = own == null ? '' : String(own);
    return others.length ? (shown ? shown + ' ' : '') + '(' + others.join(', ') + ')' : shown;
  }
  // ---- controls
  var bar = h('div', {cls: 'ib-bar'});
  function select(name, label, options){
    var s = h('select', {name: name, on: {change: function(){ S[name] = s.value; S.shown = PAGE; draw(); }}},
              [h('option', {value: '', text: 'all'})].concat(options.map(function(o){
                return h('option', {value: o[0], text: o[1]}); })));
    bar.appendChild(h('label', null, [label, s]));
  }
  ['mechanism','rubric','dimension','model','judge','status'].forEach(function(k){
    select(k, k, choices[k].map(function(c){ return [c, c.replace(/_/g, ' ')]; })); });
  select('dispute', 'disagreement', [['disputed','judges differ'],['0.25','range \u2265 0.25'],['0.5','range \u2265 0.5'],
                                     ['agreed','judges agree']]);
  var flag = h('input', {type: 'checkbox', name: 'flag', on: {change: function(){ S.flag = flag.checked; S.shown = PAGE; draw(); }}});
  bar.appendChild(h('label', {title: 'a verdict flags over-correction or amplification'}, [flag, 'flagged only']));
  var q = h('input', {type: 'search', name: 'q', placeholder: 'search ids, texts, rationales',
                      on: {input: function(){ S.q = q.value.trim(); S.shown = PAGE; draw(); }}});
  bar.appendChild(q);
  var sort = h('select', {name: 'sort', on: {change: function(){ S.sort = sort.value; draw(); }}},
               [['range','sort: disagreement'],['panel','sort: panel, high first'],['panel-asc','sort: panel, low first'],
                ['item','sort: item id']].map(function(o){ return h('option', {value: o[0], text: o[1]}); }));
  bar.appendChild(sort);
  var count = h('p', {cls: 'ib-count'});
  var headers = ['item','model','task / dimension','rubric','panel','range','judges (item score)','gold','flag'];
  var body = h('tbody');
  var tableEl = h('table', {cls: 'ib-table'}, [h('thead', null, [h('tr', null, headers.map(function(t){ return h('th', {text: t}); }))]), body]);
  var more = h('button', {cls: 'ib-more', type: 'button', text: 'show more', on: {click: function(){ S.shown += PAGE; draw(); }}});
  root.appendChild(bar); root.appendChild(count); root.appendChild(h('div', {cls: 'wrap'}, [tableEl])); root.appendChild(more);
  // ---- the detail of one unit
  function marked(text, marks){
    var box = h('div', {cls: 'text'});
    if (!text) { box.appendChild(h('span', {cls: 'muted', text: '\u2013'})); return box; }
    var cuts = [0, text.length];
    marks.forEach(function(m){ cuts.push(m.s, m.e); });
    cuts = cuts.filter(function(x, i, a){ return a.indexOf(x) === i; }).sort(function(a, b){ return a - b; });
    for (var c = 0; c + 1 < cuts.length; c++) {
      var a = cuts[c], b = cuts[c + 1], piece = text.slice(a, b);
      var on = marks.filter(function(m){ return m.s <= a && m.e >= b; });
      if (!on.length) { box.appendChild(document.createTextNode(piece)); continue; }
      var judges = on.map(function(m){ return m.j; }).filter(function(x, i, arr){ return arr.indexOf(x) === i; });
      box.appendChild(h('mark', {cls: 'q', 'data-j': judges.join(' '), title: on.map(function(m){ return D.judges[m.j] + ': \u201c' + m.q + '\u201d'; }).join('\n'),
                                 style: 'background:' + (judges.length === 1 ? colour(judges[0]) : '#fef08a')}, [piece]));
    }
    return box;
  }
  function quoteText(it, q){
    if (q[1] == null) return q[3];
    var text = it[[I.src, I.ref, I.resp][q[1]]];
    return q[2].map(function(sp){ return text.slice(sp[0], sp[1]); }).join(' \u2026 ');
  }
  function detail(u){
    var it = D.items[u[0]], r = D.rubrics[u[1]], marks = [[], [], []];
    u[5].forEach(function(v){ v[V.q].forEach(function(q){ if (q[1] != null) q[2].forEach(function(sp){
      marks[q[1]].push({s: sp[0], e: sp[1], j: v[V.j], q: quoteText(it, q)}); }); }); });
    var texts = h('div', {cls: 'ib-texts'}, [
      h('div', null, [h('h4', {text: 'source'}), marked(it[I.src], marks[0])]),
      it[I.ref] ? h('div', null, [h('h4', {text: 'reference'}), marked(it[I.ref], marks[1])]) : null,
      h('div', null, [h('h4', {text: 'response'}), marked(it[I.resp], marks[2])])]);
    var verdicts = h('div', {cls: 'ib-verdicts'}, u[5].map(function(v){
      var st = v[V.st], badges = [h('span', {cls: 'ib-badge st-' + st + (st === 'ok' ? '' : ' bad'), text: st})];
      if (v[V.flag]) badges.push(h('span', {cls: 'ib-badge flag', text: v[V.flag]}));
      var facts = ['score ' + f2(v[V.s])], fields = v[V.f] || {};
      if (v[V.sev] != null) facts.push('severity ' + v[V.sev]);
      for (var k in fields) {
        var x = fields[k];
        facts.push(k.replace(/_/g, ' ') + ' ' + (typeof x === 'number' ? String(Number(x.toFixed(3))) : String(x)));
      }
      var quotes = v[V.q].length ? h('ul', null, v[V.q].map(function(q){
        var where = q[1] != null ? '(' + TEXTS[q[1]] + ')'
          : '(not found in the ' + (q[0] === 1 ? 'response' : 'source or reference') + ')';
        return h('li', {cls: q[1] != null ? 'found' : 'missing'},
                 ['\u201c' + quoteText(it, q) + '\u201d ', h('span', {cls: 'muted', text: where})]);
      })) : null;
      var who = D.judges[v[V.j]] + (v[V.k] ? ' #' + v[V.k] : '');
      return h('div', {cls: 'ib-v'}, [
        h('h5', null, [h('span', {cls: 'ib-sw', style: 'background:' + colour(v[V.j])}), who].concat(badges)),
        h('div', {cls: 'ib-facts', text: facts.join(' \u00b7 ')}), h('div', {text: v[V.why]}), quotes]);
    }));
    var gold = [], g = it[I.gold];
    for (var k in g) gold.push(k.replace(/_/g, ' ') + ': ' + g[k]);
    var about = [it[I.id], it[I.task], it[I.dim], 'model ' + it[I.model], r.ref, 'panel ' + f2(u[2]),
                 'range ' + f2(u[3]), u[4] + ' valid judge' + (u[4] === 1 ? '' : 's')];
    var parts = [h('div', {cls: 'ib-facts', text: about.join(' \u00b7 ')}),
                 h('div', {cls: 'ib-gold', text: 'gold (0-4): ' + (gold.length ? gold.join(', ') : 'none')}),
                 texts, verdicts];
    if (it[I.meta]) parts.push(h('details', null, [h('summary', {text: 'metadata'}),
                                                   h('pre', {cls: 'text', text: JSON.stringify(it[I.meta], null, 1)})]));
    return parts;
  }
  // ---- the list
  function draw(){
    var picked = [];
    for (var i = 0; i < units.length; i++) if (keep(units[i], i)) picked.push(i);
    picked.sort(order);
    count.textContent = picked.length + ' of ' + units.length + ' item \u00d7 rubric rows' +
      (picked.length > S.shown ? ' (showing ' + S.shown + ')' : '');
    while (body.firstChild) body.removeChild(body.firstChild);
    picked.slice(0, S.shown).forEach(function(i){
      var u = units[i], it = D.items[u[0]], r = D.rubrics[u[1]];
      var scores = (u[6] || []).map(function(p){ return D.judges[p[0]].split('/').pop() + ' ' + f2(p[1]); });
      var row = h('tr', {cls: 'unit', 'data-unit': String(i)}, [
        h('td', {text: it[I.id]}), h('td', {text: it[I.model]}), h('td', {text: it[I.task] + ' / ' + it[I.dim]}),
        h('td', {text: r.ref}),
        h('td', {cls: 'num', text: f2(u[2])}), h('td', {cls: 'num', text: f2(u[3])}), h('td', {text: scores.join(', ') || '\u2013'}),
        h('td', {text: goldText(it, r.mechanism)}), h('td', {text: u.fl ? '\u26a0' : ''})]);
      row.addEventListener('click', function(){
        var next = row.nextSibling;
        if (next && next.classList && next.classList.contains('ib-detail')) { body.removeChild(next); row.classList.remove('open'); return; }
        row.classList.add('open');
        body.insertBefore(h('tr', {cls: 'ib-detail'}, [h('td', {colspan: String(headers.length)}, detail(u))]), row.nextSibling);
      });
      body.appendChild(row);
    });
    more.style.display = picked.length > S.shown ? '' : 'none';
  }
  // "quotes & detail" links elsewhere on the page (the most disputed items) open a unit here.
  document.addEventListener('click', function(e){
    var link = e.target && e.target.closest ? e.target.closest('[data-ib-open]') : null;
    if (!link) return;
    e.preventDefault();
    var want = link.getAttribute('data-ib-open').split('\n');
    Object.keys(choices).concat(['dispute']).forEach(function(k){ S[k] = ''; bar.querySelector('[name="' + k + '"]').value = ''; });
    S.rubric = want[1]; bar.querySelector('[name="rubric"]').value = want[1];
    S.q = want[0]; q.value = want[0]; S.flag = false; flag.checked = false; S.shown = PAGE;
    draw();
    var rows = body.querySelectorAll('tr.unit');
    for (var r = 0; r < rows.length; r++) {
      if (D.items[units[+rows[r].getAttribute('data-unit')][0]][I.id] === want[0]) { rows[r].click(); rows[r].scrollIntoView(); break; }
    }
  });
  draw();
})();
