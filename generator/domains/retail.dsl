# Retail: an online store's back office.
domain retail
about online store back office: customers, catalogue, stock, orders, shipments, returns, reviews and promotions
brand Northwind Market | Cartwell | Harbor & Pine | Maple Street Goods | Brightside Supply

table customers customer core rows 10-24 create
  label full_name person
  col email email
  col phone phone opt edit
  col city city opt edit
  col loyalty_tier enum(bronze,silver,gold,platinum) edit
  col store_credit money(0,150) opt
  status status active:8 suspended:1 closed:1
  action suspend "suspend the account of {it}" active -> suspended
  action reactivate "reactivate the account of {it}" suspended -> active

table categories category core rows 5-9 create delete
  label name pick(Home Office|Kitchen|Garden|Lighting|Bedding|Outdoor|Storage|Bath|Decor|Pet Supplies|Stationery|Toys)
  col description pick(Everyday essentials|Seasonal picks|Best sellers|Staff favourites|New arrivals) opt edit

table suppliers supplier rows 4-8 create
  label name company
  col contact_email email
  col city city opt
  col lead_time_days int(2,30) edit

table products product core rows 14-30 create
  label name combo(Walnut|Linen|Oak|Copper|Ceramic|Velvet|Bamboo|Marble|Canvas|Slate|Cedar|Wool ; Desk Lamp|Throw Pillow|Side Table|Coffee Mug|Planter|Bookshelf|Wall Clock|Serving Tray|Floor Rug|Storage Box|Picture Frame|Candle Holder)
  ref category_id categories
  ref supplier_id suppliers opt
  col price money(5,400) edit
  col stock int(0,60) edit
  col sku code(SKU)
  col weight_kg int(1,25) opt
  status status active:8 discontinued:2
  action discontinue "discontinue {it}" active -> discontinued
  action relist "put {it} back on sale" discontinued -> active

table warehouses warehouse rows 3-6
  label name pick(North Hub|South Hub|East Depot|West Depot|Central Fulfilment|Harbor Yard|Airport Annex)
  col city city
  col capacity_units int(500,5000)

table orders order core rows 14-30 create
  label order_number code(ORD)
  ref customer_id customers
  ref product_id products consumes stock by quantity
  col quantity int(1,5)
  col gift_message pick(Happy birthday!|Congratulations|With love|Thank you|Enjoy) opt
  col placed_at past(90)
  status status pending:3 processing:3 shipped:4 delivered:5 cancelled:1
  action cancel "cancel {it}" pending,processing -> cancelled
  action start_processing "start processing {it}" pending -> processing
  action ship "mark {it} as shipped" processing -> shipped
  action mark_delivered "mark {it} as delivered" shipped -> delivered

table shipments shipment rows 6-14 create
  label tracking_number code(TRK)
  ref order_id orders
  ref warehouse_id warehouses opt
  col carrier enum(ups,fedex,usps,dhl)
  col shipped_at past(60)
  col eta futuredate(10) opt
  status status in_transit:4 delivered:5 lost:1
  action mark_lost "report {it} as lost" in_transit -> lost

table returns return_request rows 4-10 create
  label rma_number code(RMA)
  ref order_id orders
  col reason enum(damaged,wrong_item,not_as_described,changed_mind)
  col refund_amount money(5,300)
  status status requested:3 approved:3 refunded:3 rejected:1
  action approve "approve {it}" requested -> approved
  action reject "reject {it}" requested -> rejected
  action refund "refund {it}" approved -> refunded

table reviews review rows 8-20 create delete
  label headline pick(Love it|Great value|Not as pictured|Sturdy and well made|Arrived late|Five stars|Would buy again|Too small|Perfect gift|Decent for the price)
  ref product_id products
  ref customer_id customers
  col rating int(1,5)
  col verified_purchase bool opt
  status status published:6 hidden:1 flagged:1
  action hide "hide {it}" published,flagged -> hidden
  action flag "flag {it} for moderation" published -> flagged

table promotions promotion rows 3-8 create delete
  label code combo(SPRING|SUMMER|WELCOME|FLASH|VIP|HOLIDAY ; 10|15|20|25|30)
  col discount_percent int(5,40) edit
  col starts_on pastdate(30)
  col ends_on futuredate(60) opt
  status status active:4 paused:2 expired:1
  action pause "pause the promotion {it}" active -> paused
  action resume "resume the promotion {it}" paused -> active

table gift_cards gift_card rows 3-8 create
  label card_number code(GC)
  ref customer_id customers opt
  col balance money(10,250)
  status status active:5 redeemed:1 void:1
  action void "void {it}" active -> void
