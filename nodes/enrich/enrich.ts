import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from 'node-red';
import { checkIdentity, enrich, EnrichInput } from '../lib/result/enrich';
import { VerdictRules, parseRules } from '../lib/result/verdict';
import { SpotFusionError, describeError } from '../lib/errors';
import { handleInput } from '../shared/input';
import { errorStatus, statusLine } from '../shared/status';
import { ensureAdminRoutes } from '../shared/admin';
import { translator } from '../shared/i18n';

interface EnrichDef extends NodeDef {
  line?: string;
  area?: string;
  station?: string;
  camera?: string;
  rules?: string;
}

type Msg = NodeMessageInFlow & EnrichInput & Record<string, unknown>;

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export = function register(RED: NodeAPI): void {
  ensureAdminRoutes(RED);
  const tr = translator(RED);

  function Enrich(this: Node, def: EnrichDef): void {
    RED.nodes.createNode(this, def);
    setup(this, def);
  }

  function setup(node: Node, def: EnrichDef): void {
    const identity = checkIdentity({ line: def.line, area: def.area, station: def.station, camera: def.camera });
    let rules: VerdictRules | undefined;
    let rulesError: string | undefined;
    try {
      rules = parseRules(def.rules, 'rules');
    } catch (err) {
      rulesError = describeError(err);
      node.error(`enrich "${def.name || node.id}": ${rulesError}`);
      node.status(errorStatus(rulesError));
    }
    if (rules) node.status({});
    let count = 0;
    let nok = 0;
    let stageFaults = 0;

    const ok = (): { fill: 'green' | 'yellow'; shape: 'dot'; text: string } => ({
      fill: nok ? 'yellow' : 'green',
      shape: 'dot',
      text: stageFaults ? tr('enrich.status.partsFaults', { count, nok, faults: stageFaults }) : tr('enrich.status.parts', { count, nok }),
    });

    handleInput(
      node,
      (m, send) => {
        const msg = m as Msg;
        if (!rules) throw new SpotFusionError('CONFIG', tr('enrich.errors.invalidRules', { error: rulesError ?? 'unknown' }));
        const caught = msg.error;
        if (caught !== undefined && caught !== null) {
          // a Catch node handed us a part whose grab/crop/infer failed: it gets a fault result below, unless
          const src = isObj(caught) && isObj(caught.source) ? caught.source : {};
          if (src.type === 'enrich') {
            // …it is the fault report of an enrich node, whose result went on already: never a second result, and
            // never an error that a Catch could bring back here (warn does not reach Catch nodes)
            const who = typeof src.name === 'string' && src.name !== '' ? src.name : typeof src.id === 'string' ? src.id : '';
            node.warn(tr('enrich.errors.ignoredEnrich', { name: who }));
            return;
          }
          if (!isObj(msg.part)) {
            // …or the message was never a part (e.g. a dropped frame of a self-triggered camera): no ghost result
            node.warn(tr('enrich.errors.ignoredNoPart', { error: describeError(isObj(caught) ? caught.message : caught) }));
            return;
          }
        }
        const started = process.hrtime.bigint();
        const result = enrich(
          {
            part: msg.part,
            plc: msg.plc,
            predictions: msg.predictions,
            crops: msg.crops,
            model: msg.model,
            frame: msg.frame,
            timings: msg.timings,
            recipeVersion: msg.recipeVersion,
            locate: msg.locate,
            error: caught,
          },
          rules,
          identity,
        );
        // its own stage time goes into the result it makes (the earlier stages came in msg.timings)
        result.durations.enrich = Number(process.hrtime.bigint() - started) / 1e6;
        // the error is now a fault of the result; what goes on is a result like any other
        delete msg.error;
        msg.payload = result;
        count += 1;
        if (result.verdict === 'NOK') nok += 1;
        if (caught !== undefined && caught !== null) stageFaults += 1;
        send(msg);
        if (result.faults.length) {
          // the result went on; the faults also reach Catch (one error per message, naming each fault)
          throw new SpotFusionError('ENRICH_FAULT', `result ${result.resultId} has ${result.faults.length} fault(s): ${result.faults.map((f) => f.message).join('; ')}`);
        }
        statusLine(node).update(ok());
      },
      { okStatus: ok },
    );
  }

  RED.nodes.registerType('enrich', Enrich);
};
