// deliveries.* procedures (being built).
import { router } from '../trpc.js';

export const deliveriesRouter = router({});
