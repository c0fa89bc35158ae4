// /v1/health/*: registered in the agent; routes are added as the endpoint group is built.

import type { EndpointGroup } from '../api.js';

export const healthEndpoints: EndpointGroup = () => undefined;
