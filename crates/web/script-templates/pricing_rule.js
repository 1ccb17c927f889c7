// Pricing rule, called by the host application with an order: a volume discount, a
// customer-tier discount and tax, in cents. The host calls it with
// { "items": [{ "price": 1200, "quantity": 3 }], "tier": "gold", "taxRate": 0.2 }.
const TIER_DISCOUNT = { standard: 0, silver: 0.05, gold: 0.1 };

export default function main(order) {
  const items = Array.isArray(order?.items) ? order.items : [];
  const subtotal = items.reduce(
    (sum, item) => sum + Math.round(Number(item.price) || 0) * (Number(item.quantity) || 1),
    0,
  );
  const quantity = items.reduce((sum, item) => sum + (Number(item.quantity) || 1), 0);
  const volume = quantity >= 10 ? 0.05 : 0;
  const tier = TIER_DISCOUNT[order?.tier] ?? 0;
  const discount = Math.round(subtotal * (volume + tier));
  const taxRate = Number(order?.taxRate) || 0;
  const tax = Math.round((subtotal - discount) * taxRate);
  sdk.log.debug("priced", { subtotal, discount, tax });
  return { subtotal, discount, tax, total: subtotal - discount + tax };
}
