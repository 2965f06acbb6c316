# Grocery delivery: an on-demand grocery service's operations console.
domain grocery_delivery
about grocery delivery operations: customers, partner stores, items and stock, delivery slots with limited capacity, orders and order lines, personal shoppers, substitutions, drivers, deliveries, refunds and promo codes
brand FreshCart | Basket Runner | Greenway Grocer Delivery | PantryPost | Doorstep Market | Crate & Carrot

table customers customer core rows 14-28 create
  label full_name person
  col email email
  col phone phone opt edit
  col delivery_address street edit
  col city city opt edit
  col subscription enum(none,monthly,annual) edit
  col wallet_credit money(0,60) opt
  col leave_at_door bool opt edit
  status status active:8 suspended:1 closed:1
  action suspend "suspend the account for {it}" active -> suspended
  action reactivate "reactivate the account for {it}" suspended -> active
  action close "close the account for {it}" active,suspended -> closed

table stores store core rows 3-6 create
  label name pick(Greenway Market Downtown|Greenway Market Northside|Valley Fresh|Corner Pantry|Harvest Hall|Riverside Foods|Oakmont Grocers|Pine Street Market|Bayview Supermarket|Maple Avenue Grocery)
  col street_address street
  col city city
  col opens_at_hour int(6,9) opt
  col commission_percent int(5,20) opt edit
  status status open:5 paused:1 closed:1
  action pause "pause orders from {it}" open -> paused
  action resume "resume orders from {it}" paused -> open

table shoppers shopper rows 4-10 create
  label full_name person
  col phone phone
  ref store_id stores opt
  col rating int(3,5) opt
  col orders_completed int(0,900) opt
  status status active:6 on_break:2 offboarded:1
  action start_break "put {it} on break" active -> on_break
  action end_break "end the break of {it}" on_break -> active
  action offboard "offboard {it}" active,on_break -> offboarded

table items item core rows 15-30 create
  label name combo(Greenfield|Sunny Acres|Harvest Moon|Blue Ridge|Meadowbrook|Hillside|Golden Grove|Coastline ; Whole Milk|Greek Yogurt|Sourdough Bread|Large Eggs|Baby Spinach|Chicken Breast|Salmon Fillet|Cheddar Cheese|Strawberries|Oat Milk|Ground Coffee|Penne Pasta|Roma Tomatoes|Bananas|Avocados|Peanut Butter)
  ref store_id stores
  col price money(1,25) edit
  col stock int(0,80) edit
  col sku code(SKU)
  col organic bool opt
  col max_per_order int(2,12) opt edit
  status status listed:8 delisted:1 recalled:1
  action delist "delist {it}" listed -> delisted
  action relist "relist {it}" delisted -> listed
  action recall "recall {it}" listed,delisted -> recalled

table delivery_slots delivery_slot core rows 8-16 create
  label slot_code code(SLOT)
  ref store_id stores
  col window enum(early_morning,morning,midday,afternoon,evening)
  col slot_date futuredate(7)
  col totes_available int(0,40)
  col delivery_fee money(0,9) edit
  status status open:6 full:2 closed:1
  action mark_full "mark {it} as full" open -> full
  action close "close {it}" open,full -> closed
  action reopen "reopen {it}" closed,full -> open

table orders order core rows 16-32 create
  label order_number code(ORD)
  ref customer_id customers
  ref store_id stores
  ref delivery_slot_id delivery_slots consumes totes_available by tote_count
  ref shopper_id shoppers opt
  col tote_count int(1,6)
  col subtotal money(15,250)
  col tip money(0,25) opt edit
  col allow_substitutions bool edit
  col placed_at past(10)
  status status placed:4 shopping:2 packed:2 out_for_delivery:2 delivered:5 cancelled:1
  action cancel "cancel {it}" placed -> cancelled
  action start_shopping "start shopping {it}" placed -> shopping
  action mark_packed "mark {it} as packed" shopping -> packed
  action dispatch "send {it} out for delivery" packed -> out_for_delivery

table order_lines order_line core rows 16-36 create delete
  label line_code code(LN)
  ref order_id orders
  ref item_id items consumes stock by quantity
  col quantity int(1,6)
  col unit_price money(1,25)
  col shopper_note pick(Ripe please|Green ones only|Largest size|Check the date|Any brand is fine|No dents) opt edit
  status status pending:4 picked:5 out_of_stock:1 substituted:1
  action mark_picked "mark {it} as picked" pending -> picked
  action mark_out_of_stock "mark {it} as out of stock" pending -> out_of_stock

table substitutions substitution rows 4-12 create
  label sub_code code(SUB)
  ref order_line_id order_lines
  ref replacement_item_id items
  col reason enum(out_of_stock,damaged,expired,size_unavailable)
  col price_difference money(0,8)
  status status proposed:4 accepted:4 rejected:2
  action accept "accept {it}" proposed -> accepted
  action reject "reject {it}" proposed -> rejected

table drivers driver rows 4-10 create
  label full_name person
  col phone phone
  col vehicle enum(car,van,cargo_bike,scooter)
  col license_plate code(PLT) opt
  col rating int(3,5) opt
  status status on_shift:5 off_shift:3 suspended:1
  action clock_in "clock in {it}" off_shift -> on_shift
  action clock_out "clock out {it}" on_shift -> off_shift
  action suspend "suspend {it}" on_shift,off_shift -> suspended

table deliveries delivery rows 8-20 create
  label tracking_code code(DLV)
  ref order_id orders
  ref driver_id drivers opt
  col eta future(1)
  col proof_of_delivery enum(photo,signature,handed_to_customer,left_at_door) opt
  status status assigned:3 en_route:3 delivered:5 failed:1
  action depart "mark {it} as en route" assigned -> en_route
  action mark_delivered "mark {it} as delivered" en_route -> delivered
  action mark_failed "mark {it} as failed" assigned,en_route -> failed

table refunds refund rows 4-10 create
  label refund_number code(RFD)
  ref order_id orders
  col amount money(2,80)
  col reason enum(missing_item,damaged_item,late_delivery,wrong_item,quality_issue)
  col requested_at past(14)
  status status requested:3 approved:3 issued:3 denied:1
  action approve "approve {it}" requested -> approved
  action deny "deny {it}" requested -> denied
  action issue "issue {it}" approved -> issued

table promo_codes promo_code rows 3-8 create delete
  label code combo(FRESH|SAVE|WELCOME|WEEKEND|FIRSTBOX|PANTRY ; 5|10|15|20)
  col discount_percent int(5,30) edit
  col minimum_order money(20,75) opt edit
  col expires_on futuredate(60)
  status status active:4 paused:2 expired:1
  action pause "pause {it}" active -> paused
  action resume "resume {it}" paused -> active
