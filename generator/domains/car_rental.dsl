# Car rental: a rental company's counter and fleet system.
domain car_rental
about car rental counter and fleet: branches, vehicle classes with cars left to book, vehicles, customers, reservations, rental agreements, extras in stock, damage reports, fuel charges, maintenance and traffic fines
brand Roadrunner Rentals | Keystone Car Hire | Metro Drive | Open Road Rent-a-Car | Sunbelt Auto Rental

table branches branch core rows 4-8 create
  label name pick(Downtown|Airport Terminal A|Airport Terminal B|Union Station|Harbor Point|Northside|Westfield Mall|University District|Convention Center|Lakefront|Midtown|Cruise Port|Eastgate|Old Town)
  col city city
  col phone phone opt edit
  col opening_hours enum(around_the_clock,extended,business_hours) edit
  col branch_manager person opt edit
  status status open:6 temporarily_closed:1
  action close_temporarily "temporarily close {it}" open -> temporarily_closed
  action reopen "reopen {it}" temporarily_closed -> open

table vehicle_classes vehicle_class core rows 5-8 create
  label name pick(Economy|Compact|Midsize|Full-size|Standard SUV|Full-size SUV|Minivan|Luxury|Convertible|Pickup Truck|Electric|Premium SUV|Hybrid|Cargo Van|Sports Coupe)
  col daily_rate money(29,189) edit
  col cars_available int(0,12) edit
  col seats int(2,8)
  col security_deposit money(100,500) opt edit

table vehicles vehicle core rows 16-30 create
  label unit_number code(UNIT)
  ref branch_id branches
  ref vehicle_class_id vehicle_classes
  col make_model pick(Toyota Corolla|Honda Civic|Ford Escape|Chevrolet Malibu|Nissan Altima|Jeep Grand Cherokee|Tesla Model 3|Toyota RAV4|Hyundai Elantra|Kia Sorento|Chrysler Pacifica|Ford F-150)
  col model_year int(2018,2025)
  col mileage int(1200,85000) edit
  col fuel_level_percent int(0,100) opt edit
  col color enum(white,black,silver,gray,blue,red) opt
  status status available:7 rented:5 in_maintenance:2 retired:1
  action send_to_maintenance "send {it} for maintenance" available -> in_maintenance
  action return_to_fleet "return {it} to the available fleet" in_maintenance -> available
  action retire "retire {it}" available,in_maintenance -> retired

table customers customer core rows 18-32 create
  label full_name person
  col email email
  col phone phone opt edit
  col driver_license code(DL)
  col license_expires futuredate(1500) opt edit
  col loyalty_tier enum(basic,plus,elite) edit
  col age_band enum(under_25,standard,senior) opt
  status status active:9 flagged:1 banned:1
  action flag "flag {it} for review" active -> flagged
  action clear_flag "clear the flag on {it}" flagged -> active
  action ban "ban {it} from renting" active,flagged -> banned

table reservations reservation core rows 12-22 create
  label reservation_number code(RES)
  ref customer_id customers
  ref vehicle_class_id vehicle_classes consumes cars_available by cars
  ref branch_id branches
  col cars int(1,3)
  col pickup_on futuredate(45) edit
  col rental_days int(1,21) edit
  col prepaid bool opt
  status status booked:6 converted:2 cancelled:1 no_show:1
  action cancel "cancel {it}" booked -> cancelled
  action mark_no_show "mark {it} as a no-show" booked -> no_show

table rentals rental core rows 22-36 create
  label agreement_number code(RA)
  ref customer_id customers
  ref vehicle_id vehicles
  ref pickup_branch_id branches
  col picked_up_at past(20)
  col rental_days int(1,14) edit
  col daily_rate money(29,189)
  col insurance_option enum(none,basic,full_coverage) opt edit
  col odometer_out int(1200,85000) opt
  status status open:5 overdue:1 returned:6 closed:3
  action mark_overdue "mark {it} as overdue" open -> overdue
  action check_in "check in the car for {it}" open,overdue -> returned
  action close "close {it}" returned -> closed

table damage_reports damage_report core rows 6-14 create
  label report_number code(DMG)
  ref rental_id rentals
  col damage_type enum(scratch,dent,windshield_chip,tire_damage,interior_stain,broken_mirror)
  col severity enum(minor,moderate,severe) edit
  col estimated_cost money(50,4500) edit
  col photos_attached bool opt
  status status reported:4 assessed:3 charged:3 waived:1
  action assess "mark {it} as assessed" reported -> assessed
  action charge "charge the customer for {it}" assessed -> charged
  action waive "waive {it}" reported,assessed -> waived

table extras extra rows 4-8 create delete
  label name pick(GPS Navigation|Child Seat|Booster Seat|Ski Rack|Snow Chains|Additional Driver|Roadside Plus|Wi-Fi Hotspot|Toll Pass|Bike Rack|Roof Box|Satellite Radio|Phone Mount|Pet Seat Cover|Portable Charger)
  col daily_price money(3,25) edit
  col units_in_stock int(0,20) edit

table rental_extras rental_extra rows 6-14 create delete
  label line_code code(RX)
  ref rental_id rentals
  ref extra_id extras consumes units_in_stock by quantity
  col quantity int(1,3)

table fuel_charges fuel_charge rows 6-14 create
  label charge_code code(FUEL)
  ref rental_id rentals
  col liters_short int(2,60)
  col amount money(10,180) edit
  status status pending:3 billed:4 waived:1
  action bill "bill {it} to the customer" pending -> billed
  action waive "waive {it}" pending -> waived

table maintenance_records maintenance_record rows 6-14 create
  label work_order code(WO)
  ref vehicle_id vehicles
  col service_type enum(oil_change,tire_rotation,brake_pads,battery,detailing,inspection)
  col cost money(40,1800) edit
  col scheduled_for futuredate(30) edit
  status status scheduled:4 in_progress:2 completed:4 cancelled:1
  action start "start {it}" scheduled -> in_progress
  action complete "complete {it}" in_progress -> completed
  action cancel "cancel {it}" scheduled -> cancelled

table traffic_fines traffic_fine rows 3-8 create
  label citation_number code(CIT)
  ref rental_id rentals
  col violation enum(speeding,parking,red_light,toll_evasion)
  col fine_amount money(25,400)
  col issued_on pastdate(60)
  status status received:3 transferred:3 paid:2 disputed:1
  action transfer "transfer {it} to the renter" received -> transferred
  action dispute "dispute {it}" received,transferred -> disputed
  action mark_paid "mark {it} as paid" received,transferred -> paid
