import type { Node, NodeAPI, NodeDef, NodeMessageInFlow, NodeStatus } from 'node-red';
import { RESULT_SCHEMA, InspectionResult } from '../lib/result/enrich';
import { assertValid } from '../lib/schemas';
import { SpotFusionError, describeError } from '../lib/errors';
import type { RecipeEntry, VisionServer, VisionState } from '../lib/opcua/vision-system';
import type { RecipeBook } from '../lib/vision/recipe';
import { handleInput } from '../shared/input';
import { errorStatus, showStatus, statusLine } from '../shared/status';
import type { OpcuaServerConfigNode } from '../spotfusion-opcua-server/types';
import type { RecipeConfigNode } from '../spotfusion-recipe-config/types';

interface OpcuaMvDef extends NodeDef {
  server?: string;
  recipes?: string;
  /** PLC-triggered station: ContinuousExecution at deploy and after Reset (default true) */
  continuous?: boolean;
}

type Msg = NodeMessageInFlow & { part?: unknown; status?: unknown; halted?: boolean; notReady?: string; recipeSource?: string };

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** the recipes of a recipe book, as the server lists them */
function recipeEntries(book: RecipeBook): RecipeEntry[] {
  return book.set.recipes.map((r) => ({ id: String(r.program), product: r.product, description: r.description }));
}

/**
 * The station's side of the OPC UA vision system (docs/OPCUA.md): parts pass (output 1) only while the system
 * executes, and get the prepared recipe when the PLC names none; refused parts go to output 2 with msg.halted;
 * each InspectionResult becomes a spec Result with a ResultReadyEvent; faults drive Error; state and recipe
 * changes go to output 3.
 */
export = function register(RED: NodeAPI): void {
  function OpcuaMv(this: Node, def: OpcuaMvDef): void {
    RED.nodes.createNode(this, def);
    setup(this, def);
  }

  function setup(node: Node, def: OpcuaMvDef): void {
    const config = RED.nodes.getNode(def.server ?? '') as OpcuaServerConfigNode | null;
    const recipes = def.recipes ? (RED.nodes.getNode(def.recipes) as RecipeConfigNode | null) : null;
    const continuous = def.continuous !== false;
    let vision: VisionServer | undefined;
    let problem: string | undefined;
    let results = 0;
    let refused = 0;
    let book: RecipeBook | undefined;
    let closed = false;
    const line = statusLine(node);

    const stateStatus = (): NodeStatus => {
      const s: VisionState | undefined = vision?.state;
      if (!vision || !s) return errorStatus(problem ?? 'no OPC UA server');
      const counts = `${results} results${refused ? `, ${refused} refused` : ''}${vision.prepared ? `, recipe ${vision.prepared.id}` : ''}`;
      if (s === 'Error') return errorStatus(`Error: ${vision.faultReason}`);
      if (config?.noUser) return { fill: 'yellow', shape: 'ring', text: `${s} · no OPC UA user set: nobody can log in` };
      if (s === 'Halted') return { fill: 'yellow', shape: 'dot', text: `Halted · ${counts}` };
      if (s === 'ContinuousExecution' || s === 'SingleExecution') return { fill: 'green', shape: 'dot', text: `${s} · ${counts}` };
      return { fill: 'grey', shape: 'dot', text: `${s} · ${counts}` };
    };

    const syncRecipes = (): void => {
      if (!recipes || !vision) return;
      let b: RecipeBook;
      try {
        b = recipes.book();
      } catch (err) {
        throw new SpotFusionError('RECIPE', `opcua-mv: the recipe config has no recipes: ${describeError(err)}`);
      }
      if (b === book) return;
      book = b;
      vision.setRecipes(recipeEntries(b));
    };

    const onState = (state: VisionState, previous: VisionState, cause: string): void => {
      line.now(stateStatus());
      node.send([null, null, { topic: 'state', payload: { state, previous, cause } }]);
    };
    const onPrepared = (recipe: RecipeEntry | undefined, previous: RecipeEntry | undefined): void => {
      node.send([null, null, { topic: 'recipe', payload: { program: recipe ? recipe.id : null, product: recipe?.product ?? null, previous: previous ? previous.id : null } }]);
      line.now(stateStatus());
    };

    if (!config) {
      problem = 'no OPC UA server config selected';
      node.status(errorStatus(problem));
    } else if (!config.claim(node.id)) {
      problem = `the OPC UA server "${config.name || config.id}" is fed by another opcua-mv node already (one per server)`;
      node.error(problem);
      node.status(errorStatus(problem));
    } else {
      node.status({ fill: 'yellow', shape: 'ring', text: 'node-red:common.status.connecting' });
      config.ready.then(
        (v) => {
          if (closed) return;
          vision = v;
          v.on('state', onState);
          v.on('prepared', onPrepared);
          try {
            syncRecipes();
          } catch (err) {
            node.warn(describeError(err));
          }
          v.goOperational(continuous);
          line.now(stateStatus());
        },
        (err: unknown) => {
          if (closed) return;
          problem = describeError(err);
          showStatus(node, errorStatus(problem));
        },
      );
    }

    handleInput(
      node,
      (m, send) => {
        const msg = m as Msg;
        const v = vision;
        if (!v) throw new SpotFusionError('NOT_CONNECTED', `opcua-mv: the OPC UA server is not running${problem ? `: ${problem}` : ''}`);
        // 1. a result (enrich keeps msg.part on it, so this comes first)
        if (isObj(msg.payload) && msg.payload.schema === RESULT_SCHEMA) {
          const result = assertValid<InspectionResult>('inspection-result', msg.payload, 'msg.payload');
          v.addResult(result);
          results += 1;
          line.update(stateStatus());
          return;
        }
        // 2. a fault: msg.topic "fault", or a red status of a Status node watching plc-read, camera-grab, infer
        if (msg.topic === 'fault' || (isObj(msg.status) && msg.status.fill === 'red')) {
          const st = isObj(msg.status) ? msg.status : undefined;
          const src = st && isObj(st.source) ? st.source : undefined;
          const text = (v: unknown): string => (typeof v === 'string' ? v : '');
          const what = src ? `${text(src.type)} "${text(src.name) || text(src.id)}": ${text(st?.text)}` : describeError(msg.payload ?? 'fault');
          v.fault(what.trim() || 'fault');
          return;
        }
        if (isObj(msg.status)) return; // a status that is not an error: nothing to do (Reset leaves Error)
        // 3. a part: passes while executing, else refused with msg.halted
        if (isObj(msg.part)) {
          syncRecipes();
          const reason = v.accept();
          if (reason) {
            refused += 1;
            msg.halted = true;
            msg.notReady = reason;
            send([null, msg, null]);
            line.update(stateStatus());
            return;
          }
          const program = msg.part.program;
          if ((program === undefined || program === null || program === '') && v.prepared) {
            msg.part.program = v.prepared.id;
            msg.recipeSource = 'opcua';
          }
          send([msg, null, null]);
          return;
        }
        throw new SpotFusionError('INPUT', 'opcua-mv: the message is neither an InspectionResult (msg.payload), a part (msg.part), a fault (msg.topic "fault") nor a status (msg.status)');
      },
      { okStatus: stateStatus },
    );

    node.on('close', (_removed: boolean, done: () => void) => {
      closed = true;
      if (vision) {
        vision.removeListener('state', onState);
        vision.removeListener('prepared', onPrepared);
      }
      if (config) config.release(node.id);
      done();
    });
  }

  RED.nodes.registerType('opcua-mv', OpcuaMv);
};
