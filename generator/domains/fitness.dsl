# Fitness: a gym chain's memberships, class schedule and personal training.
domain fitness
about gym and fitness club operations: clubs, membership plans, members, trainers, classes and bookings, class packs, personal training sessions, check-ins and equipment
brand Ironleaf Fitness | Pulse Athletic Club | Northstar Gym | Kinetic Studio | Summit Strength

table clubs club rows 3-6 create
  label name pick(Downtown Club|Riverside Club|Eastgate Club|Harbor Club|Midtown Club|Lakeview Club|Southpark Club|Westfield Club|Hilltop Club)
  col city city
  col opening_time pick(05:00|05:30|06:00) opt edit
  col has_pool bool opt
  status status open:5 closed:1
  action close "temporarily close {it}" open -> closed
  action reopen "reopen {it}" closed -> open

table membership_plans membership_plan core rows 3-6 create
  label name pick(Off-Peak|Standard|Premium|Student|Family|Corporate|Annual All-Access|Senior|Weekend Warrior|Flex)
  col monthly_fee money(19,149) edit
  col includes_classes bool
  col contract_months int(0,24) opt edit
  col joining_fee money(0,99) opt edit
  status status offered:4 discontinued:1
  action discontinue "stop offering {it}" offered -> discontinued
  action reinstate "offer {it} again" discontinued -> offered

table members member core rows 20-36 create
  label full_name person
  col email email
  col phone phone opt edit
  ref membership_plan_id membership_plans
  ref home_club_id clubs opt
  col joined_on pastdate(900)
  col emergency_contact person opt edit
  col fitness_goal enum(weight_loss,strength,endurance,flexibility,general_health) opt edit
  status status active:7 frozen:1 suspended:1 cancelled:1
  action freeze "put {it} on a membership freeze" active -> frozen
  action unfreeze "take {it} off the membership freeze" frozen -> active
  action suspend "suspend the membership of {it} for non-payment" active,frozen -> suspended
  action cancel "cancel the membership of {it}" active,frozen,suspended -> cancelled

table trainers trainer core rows 6-12 create
  label full_name person
  col email email
  col specialty enum(strength,hiit,yoga,pilates,cycling,boxing,mobility,nutrition) edit
  col hourly_rate money(40,120) edit
  col certification pick(NASM-CPT|ACE|ACSM|NSCA-CSCS|RYT-200|Stott Pilates) opt
  status status active:6 on_leave:1 departed:1
  action mark_departed "record that {it} has left the club" active,on_leave -> departed
  action return_from_leave "bring {it} back from leave" on_leave -> active

table classes class core rows 16-30 create
  label name combo(Sunrise|Power|Lunchtime|Evening|Weekend|Core|Express|Candlelight ; Yoga|Spin|HIIT|Pilates|Boxing|Bootcamp|Barre|Zumba|Kettlebell|Mobility|Rowing|Circuit)
  ref trainer_id trainers
  ref club_id clubs opt
  col starts_at future(14)
  col duration_minutes int(30,75)
  col spots_left int(0,30)
  col room pick(Studio A|Studio B|Cycle Room|Main Floor|Pool Deck|Rooftop) opt edit
  col intensity enum(beginner,intermediate,advanced) opt edit
  status status scheduled:8 postponed:1 cancelled:1
  action postpone "postpone {it}" scheduled -> postponed
  action reinstate "put {it} back on the schedule" postponed -> scheduled
  action cancel "cancel {it}" scheduled,postponed -> cancelled

table class_bookings class_booking core rows 28-48 create
  label booking_code code(BKG)
  ref member_id members
  ref class_id classes consumes spots_left by spots
  col spots int(1,2)
  col booked_at past(10)
  col bring_guest bool opt
  status status booked:6 waitlisted:2 cancelled:1 late_cancelled:1
  action confirm "move {it} off the waitlist" waitlisted -> booked
  action cancel "cancel {it}" booked,waitlisted -> cancelled
  action late_cancel "record {it} as a late cancellation" booked -> late_cancelled

table class_packs class_pack rows 6-14 create
  label pack_code code(PACK)
  ref member_id members
  col pack_type enum(five_class,ten_class,twenty_class,pt_bundle)
  col credits_remaining int(0,20)
  col purchase_price money(60,400)
  col expires_on futuredate(180)
  status status active:6 expired:1 refunded:1
  action expire "expire {it}" active -> expired
  action refund "refund {it}" active -> refunded

table pack_redemptions pack_redemption rows 4-10 create delete
  label redemption_code code(RDM)
  ref class_pack_id class_packs consumes credits_remaining by credits
  col credits int(1,3)
  col redeemed_at past(30)
  col note pick(Drop-in class|Guest pass|Sauna session|Towel service|Body scan) opt

table personal_sessions personal_session rows 8-18 create
  label session_code code(PT)
  ref member_id members
  ref trainer_id trainers
  col scheduled_for future(21)
  col duration_minutes int(30,90)
  col focus enum(strength,weight_loss,mobility,rehab,sport_specific)
  col price money(45,150)
  status status requested:3 confirmed:5 cancelled:1
  action confirm "confirm {it}" requested -> confirmed
  action cancel "cancel {it}" requested,confirmed -> cancelled

table check_ins check_in core rows 20-36 create delete
  label check_in_code code(CHK)
  ref member_id members
  ref club_id clubs opt
  col checked_in_at past(14)
  col entry_method enum(key_fob,app,front_desk,guest_pass)
  col duration_minutes int(20,150) opt

table equipment_items equipment_item rows 6-14 create
  label asset_tag code(EQ)
  ref club_id clubs opt
  col equipment_type enum(treadmill,rower,bike,squat_rack,cable_machine,elliptical)
  col purchased_on pastdate(1500) opt
  status status in_service:7 needs_repair:2 retired:1
  action report_fault "report {it} as needing repair" in_service -> needs_repair
  action repair "mark {it} as repaired" needs_repair -> in_service
  action retire "retire {it}" in_service,needs_repair -> retired
