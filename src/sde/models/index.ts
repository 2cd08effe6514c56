import type { ModelDefinition } from '../model.js';
import { neuron } from './neuron.js';
import { quartic } from './quartic.js';
import { teacherStudent } from './teacher-student.js';
import { twoNeuron, twoNeuronSgd } from './two-neuron.js';

/** The built-in models, by name. */
export const builtinModels: Readonly<Record<string, ModelDefinition>> = {
  quartic,
  neuron,
  'teacher-student': teacherStudent,
  'two-neuron': twoNeuron,
  'two-neuron-sgd': twoNeuronSgd,
};
