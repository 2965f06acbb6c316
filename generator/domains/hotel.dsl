# Hotel: a hotel group's property management system.
domain hotel
about hotel property management: properties, room types with rooms left to sell, rooms, guests and loyalty points, reservations, invoices, housekeeping, maintenance and loyalty rewards
brand Meridian Stays | Harbor & Vine Hotels | Alder Hospitality | Lumen Suites | Stonegate Inns

table properties property core rows 4-7 create
  label name pick(The Grand Meridian|Harborview Inn|Lakeside Lodge|Cedar Ridge Resort|The Alder Hotel|Seaside Suites|Old Town Boutique Hotel|Summit Peak Lodge|Riverside Plaza|The Marlowe|Willow Creek Inn|Bayfront Tower Hotel|Palmetto Court|Aspen Crest Lodge)
  col city city
  col star_rating int(2,5)
  col phone phone opt edit
  col general_manager person opt edit
  status status open:6 renovating:1 closed:1
  action start_renovation "close {it} for renovation" open -> renovating
  action reopen "reopen {it}" renovating,closed -> open

table room_types room_type core rows 8-16 create
  label name combo(Standard|Deluxe|Superior|Executive|Premier|Garden|Ocean View ; King|Queen|Twin|Suite|Studio|Family Room)
  ref property_id properties
  col nightly_rate money(89,650) edit
  col rooms_to_sell int(0,25) edit
  col max_occupancy int(1,6)
  col bed_config enum(king,queen,two_queens,twin,sofa_bed) opt
  col breakfast_included bool opt edit
  status status bookable:7 closed_for_sale:1
  action stop_sale "stop selling {it}" bookable -> closed_for_sale
  action resume_sale "put {it} back on sale" closed_for_sale -> bookable

table rooms room core rows 12-24 create
  label room_number pick(101|102|103|104|105|106|107|108|201|202|203|204|205|206|207|208|301|302|303|304|305|306|307|308|401|402|403|404|405|406|407|408|501|502|503|504|505|506|507|508)
  ref room_type_id room_types
  col floor int(1,12)
  col accessible bool opt
  col smoking bool opt
  status status clean:5 dirty:3 inspected:2 out_of_order:1
  action mark_dirty "mark {it} as dirty" clean,inspected -> dirty
  action mark_clean "mark {it} as cleaned" dirty -> clean
  action take_out_of_order "take {it} out of order" clean,dirty,inspected -> out_of_order
  action return_to_service "put {it} back in service" out_of_order -> dirty

table guests guest core rows 20-34 create
  label full_name person
  col email email
  col phone phone opt edit
  col loyalty_tier enum(member,silver,gold,platinum) edit
  col loyalty_points int(0,60000) edit
  col nationality pick(American|Canadian|British|German|French|Japanese|Mexican|Australian|Brazilian|Indian) opt
  col vip bool opt edit
  status status active:9 do_not_rent:1
  action ban "put {it} on the do-not-rent list" active -> do_not_rent
  action lift_ban "remove {it} from the do-not-rent list" do_not_rent -> active

table reservations reservation core rows 24-38 create
  label confirmation_number code(CNF)
  ref guest_id guests
  ref room_type_id room_types consumes rooms_to_sell by rooms
  col rooms int(1,3)
  col check_in_date futuredate(60) edit
  col nights int(1,14) edit
  col adults int(1,4) opt edit
  col rate_plan enum(flexible,non_refundable,breakfast_included,member_rate) opt
  col special_request pick(Late check-in|High floor|Quiet room|Extra pillows|Airport pickup|Crib needed|Early check-in) opt edit
  status status confirmed:6 checked_in:3 checked_out:4 cancelled:1 no_show:1
  action cancel "cancel {it}" confirmed -> cancelled
  action check_in "check in {it}" confirmed -> checked_in
  action check_out "check out {it}" checked_in -> checked_out
  action mark_no_show "mark {it} as a no-show" confirmed -> no_show

table invoices invoice core rows 14-26 create
  label invoice_number code(INV)
  ref reservation_id reservations
  col room_charges money(100,4000)
  col incidentals money(0,600) opt edit
  col payment_method enum(credit_card,cash,bank_transfer,corporate_account) edit
  status status open:4 paid:5 disputed:1 void:1
  action mark_paid "mark {it} as paid" open,disputed -> paid
  action dispute "record a dispute on {it}" open,paid -> disputed
  action void "void {it}" open,disputed -> void

table housekeeping_tasks housekeeping_task rows 8-18 create
  label task_code code(HK)
  ref room_id rooms
  col task_type enum(turndown,full_clean,linen_change,deep_clean,inspection)
  col assigned_to person edit
  col due_at future(2) edit
  status status open:4 in_progress:2 done:4 skipped:1
  action start "start {it}" open -> in_progress
  action complete "mark {it} as done" open,in_progress -> done
  action skip "skip {it}" open -> skipped

table maintenance_requests maintenance_request rows 4-10 create
  label ticket_number code(MNT)
  ref property_id properties
  col issue enum(plumbing,hvac,electrical,furniture,tv_wifi,door_lock)
  col priority enum(low,normal,urgent) edit
  col location pick(Lobby|Pool deck|Fitness center|Restaurant|Parking garage|Conference room|Guest corridor|Spa) opt
  status status reported:3 assigned:2 resolved:4
  action assign "assign {it} to the maintenance team" reported -> assigned
  action resolve "mark {it} as resolved" reported,assigned -> resolved

table loyalty_rewards loyalty_reward rows 4-8 create delete
  label name pick(Free Night|Room Upgrade|Spa Credit|Late Checkout|Breakfast for Two|Airport Transfer|Welcome Bottle|Parking Pass|Lounge Access|Dining Credit|Guaranteed Early Check-in|Bonus Points Boost|Suite Night Award|Kids Club Pass|Wine Tasting for Two)
  col points_cost int(500,20000) edit
  col blackout_dates bool opt
  status status available:4 retired:1
  action retire "retire the reward {it}" available -> retired
  action relaunch "make {it} available again" retired -> available

table reward_redemptions reward_redemption rows 4-10 create
  label redemption_code code(RDM)
  ref guest_id guests consumes loyalty_points by points_spent
  ref loyalty_reward_id loyalty_rewards
  col points_spent int(500,20000)
  col redeemed_on pastdate(60)
  status status issued:4 used:3 reversed:1
  action mark_used "mark {it} as used" issued -> used
  action reverse "reverse {it}" issued -> reversed

table spa_bookings spa_booking rows 4-10 create delete
  label booking_code code(SPA)
  ref guest_id guests
  ref property_id properties
  col treatment enum(swedish_massage,deep_tissue,facial,hot_stone,aromatherapy,couples_massage)
  col starts_at future(14) edit
  col price money(60,320)
  status status booked:4 completed:2 cancelled:1
  action cancel "cancel {it}" booked -> cancelled
  action complete "mark {it} as completed" booked -> completed
