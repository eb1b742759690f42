// The annotation page (judge/annotate/page.py): one item at a time, keyboard first. A label counts
// as saved only when the server answers that it is on disk; until then it is kept and shown as
// pending, and sent again with the next key. Text is set with textContent only.
(function(){
  var config = JSON.parse(document.getElementById('an-config').textContent);
  var token = config.token, state = config.state, twoSided = config.two_sided;
  var severity = null;  // a two-sided rubric's first key, waiting for the amplification
  var position = Math.min(state.resume, Math.max(state.total - 1, 0)), current = null, shownAt = Date.now();
  var pending = null, busy = false;
  var itemBox = document.getElementById('item'), statusBox = document.getElementById('status');
  var progress = document.getElementById('progress'), note = document.getElementById('note');
  var levels = Array.prototype.slice.call(document.querySelectorAll('.level:not(.amp)'));
  var amps = Array.prototype.slice.call(document.querySelectorAll('.level.amp'));
  function stage(){
    var waiting = severity != null;
    levels.forEach(function(b){ b.classList.toggle('chosen', waiting && String(severity) === b.getAttribute('data-level')); });
    var step = document.getElementById('step-amp');
    if (step) step.classList.toggle('waiting', waiting);
    if (waiting) say('severity ' + severity + ': now the amplification (0-4), or Esc');
  }
  function el(tag, cls, text){ var e = document.createElement(tag); if (cls) e.className = cls;
    if (text != null) e.textContent = text; return e; }
  function say(text, kind){ statusBox.textContent = text; statusBox.className = 'an-status ' + (kind || ''); }
  function showProgress(){
    progress.textContent = state.done + ' of ' + state.total + ' labelled' +
      (state.done >= state.total ? ' \u2014 all done' : '') + ' \u00b7 item ' + (position + 1) + ' of ' + state.total;
  }
  function request(method, path, body){
    var options = {method: method, headers: {'Content-Type': 'application/json'}};
    if (body) { options.body = JSON.stringify(body); options.headers['X-Annotate-Token'] = token; }
    return fetch(path, options).then(function(r){
      return r.json().then(function(data){ if (!r.ok) throw new Error(data.error || r.status); return data; });
    });
  }
  function draw(item){
    current = item;
    while (itemBox.firstChild) itemBox.removeChild(itemBox.firstChild);
    var given = item.label == null ? 'cannot judge' : item.label + (twoSided ? ', amplification ' + item.amplification : '');
    itemBox.appendChild(el('div', 'meta', 'task: ' + item.task + ' \u00b7 dimension: ' + item.dimension +
      (item.labelled ? ' \u00b7 your label: ' + given : '')));
    var texts = el('div', 'an-texts');
    function pane(title, text){ var d = el('div'); d.appendChild(el('h4', null, title));
      d.appendChild(el('div', 'text', text || '\u2013')); texts.appendChild(d); }
    pane('source', item.source);
    if (item.reference) pane('reference', item.reference);
    pane('response', item.response);
    itemBox.appendChild(texts);
    severity = null;
    levels.forEach(function(b){ b.classList.toggle('chosen', item.labelled && String(item.label) === b.getAttribute('data-level')); });
    amps.forEach(function(b){ b.classList.toggle('chosen', item.labelled && String(item.amplification) === b.getAttribute('data-amp')); });
    note.value = item.note || '';
    shownAt = Date.now();
    showProgress();
  }
  function go(to){
    if (state.total === 0) { say('The dataset has no items.', 'bad'); return; }
    position = Math.max(0, Math.min(state.total - 1, to));
    return request('GET', '/api/item/' + position).then(draw).catch(function(e){
      say('Cannot reach the server (' + e.message + '); start it again and reload this page.', 'bad'); });
  }
  function save(label, amplification){
    if (busy || !current) return;
    pending = {position: current.position, label: label, note: note.value.trim() || null,
               seconds: (Date.now() - shownAt) / 1000};
    if (twoSided) pending.amplification = label == null ? null : amplification;
    severity = null; stage();
    send();
  }
  function digit(k){
    if (!twoSided) { save(k); return; }
    if (severity == null) { severity = k; stage(); return; }
    save(severity, k);
  }
  function send(){
    if (!pending) return;
    busy = true; say('saving\u2026');
    var label = pending;
    request('POST', '/api/label', label).then(function(next){
      state = next; pending = null; busy = false;
      var shown = label.label == null ? 'cannot judge' : String(label.label) + (twoSided ? '/' + label.amplification : '');
      say('saved: item ' + (label.position + 1) + ' = ' + shown, 'ok');
      if (label.position + 1 < state.total) go(label.position + 1); else { go(label.position); }
    }).catch(function(e){
      busy = false;
      say('NOT saved (' + e.message + '): the server is unreachable. Your label is kept here; start the server ' +
          'again and press any key to send it.', 'bad');
    });
  }
  levels.forEach(function(b){ b.addEventListener('click', function(){
    if (twoSided) { severity = null; } digit(parseInt(b.getAttribute('data-level'), 10)); }); });
  amps.forEach(function(b){ b.addEventListener('click', function(){
    if (severity != null) save(severity, parseInt(b.getAttribute('data-amp'), 10)); else say('choose the severity first'); }); });
  document.getElementById('skip').addEventListener('click', function(){ save(null); });
  document.getElementById('prev').addEventListener('click', function(){ go(position - 1); });
  document.getElementById('next').addEventListener('click', function(){ go(position + 1); });
  document.addEventListener('keydown', function(e){
    if (e.target === note) {
      if (e.key === 'Escape') note.blur();
      if (e.key === 'Enter') { e.preventDefault(); note.blur(); }
      return;
    }
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    if (pending && !busy) { e.preventDefault(); send(); return; }
    if (/^[0-4]$/.test(e.key)) { e.preventDefault(); digit(parseInt(e.key, 10)); }
    else if (e.key === 'Escape' && severity != null) { severity = null; stage(); say(''); }
    else if (e.key === 'x') { e.preventDefault(); save(null); }
    else if (e.key === 'ArrowRight' || e.key === 'j') { e.preventDefault(); go(position + 1); }
    else if (e.key === 'ArrowLeft' || e.key === 'k') { e.preventDefault(); go(position - 1); }
    else if (e.key === 'n') { e.preventDefault(); note.focus(); }
    else if (e.key === '?') { var keys = document.querySelector('.an-keys'); keys.open = !keys.open; }
  });
  showProgress();
  go(position);
})();
