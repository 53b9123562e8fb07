// components/product-card/product-card.js
Component({
  options: {
    multipleSlots: true
  },

  externalClasses: ['custom-class'],

  properties: {
    product: {
      type: Object,
      value: {}
    }
  },

  methods: {
    onAdd() {
      this.triggerEvent('add', { id: this.data.product.id })
    }
  }
})
