// /v1/catalog/*: registered in the agent; routes are added as the endpoint group is built.

import type { EndpointGroup } from '../api.js';

export const catalogEndpoints: EndpointGroup = () => undefined;
