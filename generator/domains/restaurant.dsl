# Restaurant: a restaurant group's front of house, kitchen and purchasing.
domain restaurant
about restaurant group operations: branches, dining tables, menu and portions, guests, reservations, kitchen orders, staff shifts, suppliers, inventory and purchase orders
brand Olive & Ash | The Copper Pot | Saffron House | Harbor Grill | Juniper Kitchen

table branches branch core rows 3-6 create
  label name pick(Downtown|Riverside|Old Town|Harbor Front|Midtown|Uptown|Airport|University District|West End|Market Square)
  col city city
  col phone phone opt edit
  col seating_capacity int(40,220)
  col opening_time pick(07:00|11:00|11:30|17:00) opt edit
  status status open:5 temporarily_closed:1
  action close "temporarily close {it}" open -> temporarily_closed
  action reopen "reopen {it}" temporarily_closed -> open

table dining_tables dining_table core rows 16-30 create delete
  label table_code code(TBL)
  ref branch_id branches
  col seat_count int(2,10)
  col area enum(main_room,patio,bar,private_room,window)
  col accessible bool opt edit
  status status available:6 out_of_service:1
  action take_out_of_service "take {it} out of service" available -> out_of_service
  action return_to_service "return {it} to service" out_of_service -> available

table menu_categories menu_category rows 4-8 create delete
  label name pick(Starters|Salads|Soups|Mains|Pasta|Grill|Desserts|Drinks|Sides|Brunch|Kids Menu|Specials)
  col sort_order int(1,12) edit

table menu_items menu_item core rows 18-32 create
  label name combo(Grilled|Roasted|Braised|Crispy|Smoked|Pan-Seared|Wood-Fired|Charred|Spiced|Herb-Crusted|Glazed|Slow-Cooked ; Salmon|Chicken Thighs|Short Rib|Cauliflower|Pork Belly|Halloumi|Lamb Chops|Sea Bass|Eggplant|Duck Breast|Prawns|Mushrooms)
  ref menu_category_id menu_categories opt
  col price money(6,48) edit
  col portions_left int(0,40) edit
  col dietary enum(none,vegetarian,vegan,gluten_free,dairy_free) opt edit
  col calories int(150,1400) opt
  status status available:8 sold_out:1 retired:1
  action mark_sold_out "mark {it} as sold out for today" available -> sold_out
  action restore "put {it} back on the menu" sold_out,retired -> available
  action retire "retire {it} from the menu" available,sold_out -> retired

table guests guest core rows 16-30 create
  label full_name person
  col email email
  col phone phone opt edit
  col dietary_notes pick(No restrictions|Nut allergy|Shellfish allergy|Vegetarian|Vegan|Gluten free|Lactose intolerant) opt edit
  col visit_count int(0,40) opt
  col vip bool opt edit
  status status active:9 blocked:1
  action block "block {it} from making reservations" active -> blocked
  action unblock "allow {it} to make reservations again" blocked -> active

table reservations reservation core rows 20-36 create
  label confirmation_code code(RSV)
  ref guest_id guests
  ref branch_id branches
  ref dining_table_id dining_tables opt
  col party_size int(1,10)
  col reserved_for future(30)
  col occasion enum(none,birthday,anniversary,business,date_night) opt edit
  col special_request pick(High chair|Quiet table|Window seat|Wheelchair access|Cake at dessert|Outdoor seating) opt edit
  status status booked:5 confirmed:4 seated:2 cancelled:1 no_show:1
  action confirm "confirm {it}" booked -> confirmed
  action seat "seat the party for {it}" booked,confirmed -> seated
  action cancel "cancel {it}" booked,confirmed -> cancelled
  action mark_no_show "mark {it} as a no-show" booked,confirmed -> no_show

table kitchen_orders kitchen_order core rows 24-40 create
  label ticket_number code(ORD)
  ref menu_item_id menu_items consumes portions_left by quantity
  ref reservation_id reservations opt
  ref dining_table_id dining_tables opt
  col quantity int(1,4)
  col order_type enum(dine_in,takeout,delivery)
  col placed_at past(2)
  col kitchen_note pick(No onions|Extra spicy|Sauce on the side|Well done|No dairy|Allergy alert) opt edit
  status status placed:3 preparing:3 served:6 voided:1
  action start_preparing "start preparing {it}" placed -> preparing
  action serve "mark {it} as served" preparing -> served
  action void "void {it}" placed,preparing -> voided

table staff staff_member rows 8-18 create
  label full_name person
  ref branch_id branches
  col role enum(chef,sous_chef,line_cook,server,host,bartender,dishwasher,manager)
  col email email opt
  col hourly_wage money(14,38) edit
  status status active:8 on_leave:1 terminated:1
  action terminate "terminate the employment of {it}" active,on_leave -> terminated
  action return_from_leave "bring {it} back from leave" on_leave -> active

table shifts shift rows 10-24 create delete
  label shift_code code(SHF)
  ref staff_member_id staff
  ref branch_id branches opt
  col shift_date futuredate(14)
  col shift_type enum(breakfast,lunch,dinner,late,double)
  col hours int(4,10) edit
  status status scheduled:6 confirmed:3 cancelled:1
  action confirm "confirm {it}" scheduled -> confirmed
  action cancel "cancel {it}" scheduled,confirmed -> cancelled

table suppliers supplier rows 3-8 create
  label name company
  col contact_email email
  col phone phone opt edit
  col category enum(produce,meat,seafood,dairy,dry_goods,beverages)
  col lead_time_days int(1,7) edit
  status status active:5 on_hold:1
  action put_on_hold "put {it} on hold" active -> on_hold
  action reinstate "reinstate {it}" on_hold -> active

table inventory_items inventory_item rows 10-24 create
  label name pick(Bread Flour|Extra Virgin Olive Oil|Unsalted Butter|San Marzano Tomatoes|Basmati Rice|Arborio Rice|Salmon Fillets|Chicken Thighs|Beef Short Ribs|Parmesan|Mozzarella|Heavy Cream|Whole Milk|Free-Range Eggs|Lemons|Limes|Garlic|Shallots|Yellow Onions|Fresh Basil|Flat-Leaf Parsley|Sea Salt|Black Peppercorns|Cane Sugar|Dark Chocolate|Espresso Beans|House Red Wine|Sparkling Water|Jumbo Prawns|Baby Spinach|Fingerling Potatoes|Maple Syrup|Sourdough Starter|Smoked Paprika)
  ref supplier_id suppliers
  ref branch_id branches opt
  col unit enum(kg,litre,case,each,bag)
  col quantity_on_hand int(0,120) edit
  col reorder_level int(5,30) edit
  col unit_cost money(1,60) opt edit

table purchase_orders purchase_order rows 6-14 create
  label po_number code(PO)
  ref supplier_id suppliers
  ref inventory_item_id inventory_items opt
  col quantity int(5,80)
  col order_value money(40,2500)
  col expected_on futuredate(10)
  status status draft:2 submitted:3 received:4 cancelled:1
  action submit "submit {it} to the supplier" draft -> submitted
  action receive "mark {it} as received" submitted -> received
  action cancel "cancel {it}" draft,submitted -> cancelled
