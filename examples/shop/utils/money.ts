// utils/money.ts: compiled by the devtools "typescript" compiler plugin.
export interface CartItem {
  id: string
  title: string
  cents: number
  qty: number
  image?: string
}

/** Total of a cart in cents. */
export function sum(items: CartItem[]): number {
  return items.reduce((total: number, item: CartItem) => total + item.cents * item.qty, 0)
}
