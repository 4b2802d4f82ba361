/* global window */
// Teach view, the recipe being taught: the recipe set (the dialog's JSON) as an object, the recipe shown (by
// program), the selected spots, undo/redo, and the JSON text both ways: every change writes the text (one spot
// a line, so a 48-spot recipe stays readable), and text typed in the JSON editor replaces the set when it parses.
(function () {
  'use strict';
  var HISTORY = 200;

  /** JSON with small objects and arrays of plain values on one line */
  function format(value, indent) {
    indent = indent || '';
    var inner = indent + '  ';
    if (Array.isArray(value)) {
      if (value.length === 0) return '[]';
      if (value.every(plain)) return '[' + value.map(function (v) { return JSON.stringify(v); }).join(', ') + ']';
      return '[\n' + value.map(function (v) { return inner + format(v, inner); }).join(',\n') + '\n' + indent + ']';
    }
    if (value && typeof value === 'object') {
      var keys = Object.keys(value).filter(function (k) {
        return value[k] !== undefined;
      });
      if (keys.length === 0) return '{}';
      if (keys.every(function (k) { return plain(value[k]) || (Array.isArray(value[k]) && value[k].every(plain)); })) {
        return '{ ' + keys.map(function (k) { return JSON.stringify(k) + ': ' + format(value[k]); }).join(', ') + ' }';
      }
      return '{\n' + keys.map(function (k) { return inner + JSON.stringify(k) + ': ' + format(value[k], inner); }).join(',\n') + '\n' + indent + '}';
    }
    return JSON.stringify(value);
  }

  function plain(v) {
    return v === null || typeof v !== 'object';
  }

  function Doc(text) {
    this.listeners = [];
    this.undoStack = [];
    this.redoStack = [];
    this.selection = [];
    this.recipeIndex = 0;
    this.error = '';
    this.set = { recipes: [] };
    this.setText(text, true);
  }

  /** text from the JSON editor: replaces the set when it is JSON with a recipes list; else only says why not */
  Doc.prototype.setText = function (text, initial) {
    var parsed;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      this.error = 'not valid JSON: ' + err.message;
      this.emit('error');
      return false;
    }
    if (!parsed || typeof parsed !== 'object' || !Array.isArray(parsed.recipes)) {
      this.error = 'needs a "recipes" list';
      this.emit('error');
      return false;
    }
    if (!initial) this.remember();
    this.error = '';
    this.set = parsed;
    if (this.recipeIndex >= parsed.recipes.length) this.recipeIndex = 0;
    this.selection = this.selection.filter(function (i) {
      return i < this.spots().length;
    }, this);
    this.emit(initial ? 'load' : 'text');
    return true;
  };

  Doc.prototype.text = function () {
    return format(this.set) + '\n';
  };

  Doc.prototype.recipe = function () {
    var r = this.set.recipes[this.recipeIndex];
    return r && typeof r === 'object' ? r : null;
  };

  Doc.prototype.spots = function () {
    var r = this.recipe();
    return r && Array.isArray(r.spots) ? r.spots : [];
  };

  Doc.prototype.on = function (fn) {
    this.listeners.push(fn);
  };

  Doc.prototype.emit = function (why) {
    this.listeners.forEach(function (fn) {
      fn(why);
    });
  };

  /** keep the state before a change, for undo */
  Doc.prototype.remember = function () {
    this.undoStack.push(JSON.stringify({ set: this.set, recipeIndex: this.recipeIndex, selection: this.selection }));
    if (this.undoStack.length > HISTORY) this.undoStack.shift();
    this.redoStack = [];
  };

  /** change(fn): remember, run fn (it edits this.set), tell the listeners (the text and the view follow) */
  Doc.prototype.change = function (fn) {
    this.remember();
    fn.call(this);
    this.emit('change');
  };

  /** a drag: the state at its start is remembered once; the moves in between only redraw */
  Doc.prototype.begin = function () {
    this.remember();
    this.dragStart = this.undoStack[this.undoStack.length - 1];
  };

  Doc.prototype.end = function (changed) {
    // a click that moved nothing leaves no undo step
    if (!changed && this.undoStack[this.undoStack.length - 1] === this.dragStart) this.undoStack.pop();
    this.dragStart = undefined;
    if (changed) this.emit('change');
  };

  function restore(doc, from, to) {
    if (!from.length) return false;
    to.push(JSON.stringify({ set: doc.set, recipeIndex: doc.recipeIndex, selection: doc.selection }));
    var s = JSON.parse(from.pop());
    doc.set = s.set;
    doc.recipeIndex = s.recipeIndex;
    doc.selection = s.selection;
    doc.emit('change');
    return true;
  }

  Doc.prototype.undo = function () {
    return restore(this, this.undoStack, this.redoStack);
  };

  Doc.prototype.redo = function () {
    return restore(this, this.redoStack, this.undoStack);
  };

  Doc.prototype.select = function (indices) {
    this.selection = indices.slice();
    this.emit('select');
  };

  Doc.prototype.toggle = function (i) {
    var at = this.selection.indexOf(i);
    if (at >= 0) this.selection.splice(at, 1);
    else this.selection.push(i);
    this.emit('select');
  };

  Doc.prototype.selected = function () {
    var spots = this.spots();
    return this.selection
      .filter(function (i) {
        return spots[i];
      })
      .map(function (i) {
        return spots[i];
      });
  };

  /** add spots to the shown recipe (a recipe is made when there is none) and select them */
  Doc.prototype.addSpots = function (list) {
    this.change(function () {
      if (!this.recipe()) {
        this.set.recipes.push({ program: this.set.recipes.length + 1, spots: [] });
        this.recipeIndex = this.set.recipes.length - 1;
      }
      var r = this.recipe();
      if (!Array.isArray(r.spots)) r.spots = [];
      var first = r.spots.length;
      Array.prototype.push.apply(r.spots, list);
      this.selection = list.map(function (_s, i) {
        return first + i;
      });
    });
  };

  Doc.prototype.deleteSelected = function () {
    if (!this.selection.length) return;
    this.change(function () {
      var drop = this.selection;
      var r = this.recipe();
      r.spots = r.spots.filter(function (_s, i) {
        return drop.indexOf(i) < 0;
      });
      this.selection = [];
    });
  };

  /** set field `key` of every selected spot (undefined or '' removes an optional field) */
  Doc.prototype.setField = function (key, value) {
    if (!this.selection.length) return;
    this.change(function () {
      this.selected().forEach(function (s) {
        if (value === undefined || value === '') delete s[key];
        else s[key] = value;
      });
    });
  };

  var T = (window.SpotFusionTeach = window.SpotFusionTeach || {});
  T.Doc = Doc;
  T.format = format;
  // Node (the unit tests) loads the same file with require
  if (typeof module !== 'undefined' && module.exports) module.exports = T;
})();
